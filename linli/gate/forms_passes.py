"""Forms of the pass pages: issue (designated members), revoke, hold set and release (A2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from linli.gate import passes
from linli.gate.choices import HoldReason
from linli.lib.wording import bracketed
from linli.registry.models import Person


class IssueForm(forms.Form):
    """Designated members: one to eight of the household's members (A2)."""

    members = forms.TypedMultipleChoiceField(
        label=_("指定外出人员"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("请至少指定一名外出人员"),
            "invalid_choice": _("所选人员不是本户成员，请刷新页面后重选"),
        },
        help_text=format_lazy(_("一户一证，一般指定1名相对固定的家庭成员外出采购；最多 {n} 人"), n=passes.MAX_MEMBERS),
    )

    def __init__(self, *args: Any, household_members: Sequence[Person], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.people = {person.pk: person for person in household_members}
        field: Any = self.fields["members"]
        field.choices = [
            (person.pk, bracketed(person.name, person.get_relation_display())) for person in household_members
        ]

    def clean_members(self) -> list[Person]:
        chosen = self.cleaned_data["members"]
        if len(chosen) > passes.MAX_MEMBERS:
            raise forms.ValidationError(_("指定外出人员最多 %(n)s 人") % {"n": passes.MAX_MEMBERS})
        return [self.people[pk] for pk in chosen]


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("作废原因"),
        max_length=100,
        error_messages={"required": _("请填写作废原因，如：卡片遗失、人员变动")},
        widget=forms.TextInput(attrs={"placeholder": _("如：卡片遗失、人员变动")}),
    )


class HoldForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("暂停原因"),
        choices=HoldReason.choices,
        error_messages={"required": _("请选择暂停原因"), "invalid_choice": _("未知的暂停原因")},
    )
    note = forms.CharField(label=_("说明"), max_length=200, required=False)


class ReleaseForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("解除哪一项"),
        choices=[("", _("全部解除")), *HoldReason.choices],
        required=False,
        error_messages={"invalid_choice": _("未知的暂停原因")},
    )
