"""Package labels (S5): every size prints, each label carries its address, masked recipient, items and amount,
and its QR codes decode (rendered with pdftoppm, decoded with zxing-cpp)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from decimal import Decimal

import pytest
from PIL import Image
from pypdf import PdfReader

from linli.lib.testing import qr_texts
from linli.supplies.choices import PaymentMode, Priority
from linli.supplies.labels import SIZES, LabelData, label_data, labels_pdf, mask_name, render_labels
from linli.supplies.models import Order, OrderLine, Package, Supplier
from linli.supplies.services.aggregation import aggregate, handover_reference, shortfall_allocate
from linli.supplies.services.money import payment_collect
from linli.supplies.tests.test_aggregation import Scene, b, place, scene

__all__ = ["scene"]

pytestmark = pytest.mark.django_db
PAY_LINK = "https://pay.example.cn/pingjia/shop-88"
needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is missing")


def rendered_pages(pdf: bytes, dpi: int = 300) -> list[Image.Image]:
    """The PDF as the printer would see it: every page rendered to greyscale by poppler."""
    assert pdf[:5] == b"%PDF-"
    if os.environ.get("LINLI_KEEP_LABELS"):  # to look at it: LINLI_KEEP_LABELS=/tmp/labels.pdf
        with open(os.environ["LINLI_KEEP_LABELS"], "wb") as out:
            out.write(pdf)
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "labels.pdf")
        with open(source, "wb") as out:
            out.write(pdf)
        subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", source, os.path.join(tmp, "page")], check=True)
        pages = sorted(name for name in os.listdir(tmp) if name.startswith("page"))
        return [Image.open(os.path.join(tmp, name)).convert("L") for name in pages]


def decoded(pdf: bytes) -> list[str]:
    found: list[str] = []
    for page in rendered_pages(pdf):
        found.extend(qr_texts(page))
    return found


def page_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _packed(scene: Scene, count: int = 5) -> list[Package]:
    shop = Supplier.objects.get(pk=scene.window.supplier_id)
    shop.payment_code = PAY_LINK
    shop.save(update_fields=["payment_code"])
    rooms = [("b1", "101", "1单元"), ("b1", "102", "1单元"), ("b1", "201", "2单元"), ("b2", "101", "1单元")]
    rooms += [("b2", "102", "1单元"), ("b3", "101", "1单元"), ("b3", "102", "1单元"), ("b3", "201", "1单元")]
    for n, (building, room, unit) in enumerate(rooms[:count]):
        place(
            scene.window,
            b(scene, building, room, unit),
            {scene.veg: 1 + n % 3, scene.eggs: 1},
            priority=Priority.SEALED if n == 1 else Priority.NORMAL,
        )
    aggregate(scene.window, actor=scene.personas.community_worker, now=scene.after)
    return list(Package.objects.filter(window=scene.window).order_by("pk"))


@needs_poppler
@pytest.mark.parametrize("size", sorted(SIZES))
def test_every_label_size_prints_and_every_qr_decodes(scene: Scene, size: str) -> None:
    # given: 5 bags, one sealed; the supplier has a payment link
    packages = _packed(scene)

    # when
    pdf = labels_pdf(Package.objects.filter(window=scene.window), size=size)

    # then: the sheet size, one page per label on a roll, and each bag's two codes
    reader = PdfReader(io.BytesIO(pdf))
    sheet = SIZES[size]
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (round(sheet.page[0]), round(sheet.page[1]))
    assert len(reader.pages) == -(-len(packages) // sheet.per_page)
    texts = decoded(pdf)
    assert sorted(t for t in texts if t.startswith("LLP:")) == sorted(
        handover_reference(p.handover_code) for p in packages
    )
    assert texts.count(PAY_LINK) == len(packages)
    text = page_text(pdf)
    for package in packages:
        assert package.handover_code in text  # the code printed in text too


def test_a_label_shows_address_masked_recipient_items_amount_and_the_sealed_mark(scene: Scene) -> None:
    packages = _packed(scene, count=2)
    labels = {label.handover_code: label for label in label_data(packages)}
    first, sealed = (labels[p.handover_code] for p in packages)
    assert first.address == "1号楼1单元101" and first.compound == "阳光小区"
    assert first.recipient == "户****"  # the householder 户主101, all but the first character masked
    assert first.items == [("标准蔬菜包", 1, "份"), ("鸡蛋", 1, "份")]
    assert first.amount == scene.veg.price + scene.eggs.price
    assert first.drop_off == "1号楼投放点" and not first.contactless
    assert sealed.contactless and sealed.drop_off == ""
    text = page_text(labels_pdf(packages, size="100x150"))
    for expected in ("1号楼1单元101", "阳光小区", "户****", "标准蔬菜包×1份", "应付：", "无接触 放门口", "扫码付款"):
        assert expected in text
    assert "户主101" not in text


@needs_poppler
def test_after_a_shortfall_the_label_shows_what_is_delivered_and_the_reduced_amount(scene: Scene) -> None:
    packages = _packed(scene, count=3)  # vegetables 1 + 2 + 3 ordered
    purchase = scene.window.purchase
    shortfall_allocate(purchase, {scene.veg.pk: 3}, actor=scene.personas.community_worker)
    labels = label_data(packages)
    delivered = sum(q for label in labels for name, q, _u in label.items if name == "标准蔬菜包")
    assert delivered == 3
    assert (
        sum((label.amount for label in labels), Decimal("0"))
        == sum((p.order.total for p in packages), Decimal("0")) - scene.veg.price * 3
    )
    assert len([t for t in decoded(labels_pdf(packages, size="a4-3x7")) if t.startswith("LLP:")]) == 3


@needs_poppler
def test_without_a_payment_code_the_label_says_pay_the_grid_worker(scene: Scene) -> None:
    packages = _packed(scene, count=2)
    Supplier.objects.filter(pk=scene.window.supplier_id).update(payment_code="")
    Order.objects.filter(pk=packages[1].order_id).update(payment_mode=PaymentMode.CREDIT)
    pdf = labels_pdf(packages, size="a4-2x4")
    texts = decoded(pdf)
    assert sorted(texts) == sorted(handover_reference(p.handover_code) for p in packages)
    text = page_text(pdf)
    assert "请向网格员付款" in text and "社区记账" in text


def test_a_prepaid_bag_says_paid_only_once_the_grid_worker_has_collected(scene: Scene) -> None:
    # given: two households chose to pay the grid worker; only the first has paid so far
    packages = _packed(scene, count=2)
    Order.objects.filter(pk__in=[p.order_id for p in packages]).update(payment_mode=PaymentMode.PREPAID)
    paid, unpaid = packages
    payment_collect(
        paid.order, mode=PaymentMode.PREPAID, amount=paid.amount, actor=scene.personas.grid_worker, now=scene.after
    )

    # when: the supplier prints the labels
    text_of = {p.handover_code: page_text(labels_pdf([p], size="100x150")) for p in packages}

    # then: the paid bag says so; the unpaid one does not claim it, and says whom to pay
    assert "已由网格员代收" in text_of[paid.handover_code]
    assert "已由网格员代收" not in text_of[unpaid.handover_code]
    assert "请向网格员付款" in text_of[unpaid.handover_code]


@needs_poppler
def test_a_long_order_is_cut_short_on_the_smallest_label_and_still_decodes() -> None:
    label = LabelData(
        handover_code="ABCDEFGHJK",
        compound="一个名字很长很长的小区",
        address="12号楼3单元1201",
        recipient="张*",
        drop_off="东门",
        contactless=True,
        amount=Decimal("1234.50"),
        payment_mode=PaymentMode.ON_DELIVERY,
        payment_code="wxp://f2f0abcdefghijklmnopqrstuvwxyz0123456789",
        items=[(f"商品{n}", n, "份") for n in range(1, 30)],
    )
    pdf = render_labels([label] * 22, size="a4-3x7")
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 2
    texts = decoded(pdf)
    assert texts.count("LLP:ABCDEFGHJK") == 22 and texts.count(label.payment_code) == 22
    assert "共29种商品" in page_text(pdf)


def test_mask_name_keeps_the_surname_only() -> None:
    assert mask_name("张三") == "张*" and mask_name("欧阳明月") == "欧***" and mask_name("张") == "张*"
    assert mask_name("") == ""


def test_an_unknown_size_is_refused(scene: Scene) -> None:
    with pytest.raises(ValueError):
        labels_pdf(Package.objects.none(), size="a5")
    assert OrderLine.objects.count() == 0
