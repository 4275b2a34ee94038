"""The upload form of the roster page (the API checks uploads with the same function)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.rosters.reader import check_file_kind

MODE_ALL = "all"
MODE_GOOD = "good"
MODE_CHECK = "check"
MODES = (
    (MODE_ALL, gettext_lazy("全部正确才导入（有错误时什么都不写入）")),
    (MODE_GOOD, gettext_lazy("只导入正确的行，跳过有错误的行")),
    (MODE_CHECK, gettext_lazy("仅校验，不写入")),
)


def check_upload(upload: UploadedFile) -> None:
    """Refuse what cannot be a roster before it is stored: too big, not .xlsx (with the reason)."""
    limit = settings.ROSTER_MAX_UPLOAD_BYTES
    if upload.size and upload.size > limit:
        raise ValidationError(_("文件太大：最大 %(mb)d MB") % {"mb": limit // (1024 * 1024)})
    if not upload.size:
        raise ValidationError(_("文件是空的"))
    head = upload.read(8)
    upload.seek(0)
    problem = check_file_kind(head, upload.name or "")
    if problem is None and not (upload.name or "").lower().endswith(".xlsx"):
        problem = _("请上传 .xlsx 文件")
    if problem:
        raise ValidationError(problem)


class RosterUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("台账文件（.xlsx）"))
    mode = forms.ChoiceField(label=gettext_lazy("导入方式"), choices=MODES, initial=MODE_ALL, widget=forms.RadioSelect)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        check_upload(upload)
        return upload
