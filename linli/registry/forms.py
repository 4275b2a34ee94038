"""Forms of the registry pages. They only collect input; the services normalise and validate it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.registry.choices import VULNERABLE_FLAGS, HealthCode, Relation, Residency


class PersonForm(forms.Form):
    """Add or edit a person. On edit, a blank ID number or phone keeps the stored value.

    The stored ID number and phone are never put into the form: they would be shown in full to
    someone who may edit but not reveal (street command), and without an audit record.
    """

    name = forms.CharField(label=_("姓名"), max_length=50)
    id_number = forms.CharField(
        label=_("身份证号"),
        max_length=40,
        required=False,
        help_text=_("18位，可输入全角数字或小写x"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )
    phone = forms.CharField(
        label=_("手机号"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "inputmode": "tel"}),
    )
    relation = forms.ChoiceField(label=_("与户主关系"), choices=Relation.choices, initial=Relation.OTHER)
    residency = forms.ChoiceField(label=_("居住类型"), choices=Residency.choices, initial=Residency.RESIDENT)
    health_code = forms.ChoiceField(label=_("健康码"), choices=HealthCode.choices, initial=HealthCode.GREEN)
    helper_name = forms.CharField(label=_("结对帮扶人"), max_length=50, required=False)
    helper_phone = forms.CharField(
        label=_("帮扶人电话"), max_length=20, required=False, widget=forms.TextInput(attrs={"type": "tel"})
    )
    note = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, person: Any = None, **kwargs: Any) -> None:
        self.person = person
        if person is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": person.name,
                "relation": person.relation,
                "residency": person.residency,
                "health_code": person.health_code,
                "helper_name": person.helper_name,
                "helper_phone": person.helper_phone,
                "note": person.note,
                **{field: getattr(person, field) for field, _label in VULNERABLE_FLAGS},
            }
        super().__init__(*args, **kwargs)
        for field, label in VULNERABLE_FLAGS:
            self.fields[field] = forms.BooleanField(label=label, required=False)
        if person is not None:
            if person.id_number:
                self.fields["id_number"].help_text = _("当前：%(masked)s。留空表示不修改。") % {
                    "masked": person.masked_id_number
                }
            if person.phone:
                self.fields["phone"].help_text = _("当前：%(masked)s。留空表示不修改。") % {
                    "masked": person.masked_phone
                }

    @property
    def vulnerable_fields(self) -> list[forms.BoundField]:
        return [self[field] for field, _label in VULNERABLE_FLAGS]

    def service_fields(self) -> dict[str, Any]:
        """The cleaned data as keyword arguments of person_create / person_update."""
        data = dict(self.cleaned_data)
        if self.person is not None:
            for field in ("id_number", "phone"):
                if not data.get(field):
                    data.pop(field, None)  # blank on edit: keep what is stored
        return data


class HouseholdForm(forms.Form):
    """Rented or not, the landlord, a note. A blank landlord phone keeps the stored one."""

    is_rented = forms.BooleanField(label=_("出租房"), required=False)
    landlord_name = forms.CharField(label=_("房东姓名"), max_length=50, required=False)
    landlord_phone = forms.CharField(
        label=_("房东电话"), max_length=20, required=False, widget=forms.TextInput(attrs={"type": "tel"})
    )
    clear_landlord_phone = forms.BooleanField(label=_("清除房东电话"), required=False)
    note = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, household: Any, **kwargs: Any) -> None:
        self.household = household
        kwargs.setdefault(
            "initial",
            {"is_rented": household.is_rented, "landlord_name": household.landlord_name, "note": household.note},
        )
        super().__init__(*args, **kwargs)
        if household.landlord_phone:
            self.fields["landlord_phone"].help_text = _("当前：%(masked)s。留空表示不修改。") % {
                "masked": household.masked_landlord_phone
            }
        else:
            del self.fields["clear_landlord_phone"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("is_rented") and not (data.get("landlord_name") or "").strip():
            self.add_error("landlord_name", _("出租房请填写房东姓名"))
        return data

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if data.pop("clear_landlord_phone", False):
            data["landlord_phone"] = ""
        elif not data.get("landlord_phone"):
            data.pop("landlord_phone", None)
        data["landlord_name"] = (data.get("landlord_name") or "").strip()
        return data


class TravelForm(forms.Form):
    person = forms.ChoiceField(label=_("人员"))
    date = forms.DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}))
    place = forms.CharField(label=_("地点"), max_length=100, help_text=_("到达的城市、区县"))
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args: Any, people: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.people = {str(person.pk): person for person in people}
        person_field: Any = self.fields["person"]
        person_field.choices = [(str(person.pk), person.name) for person in people]
        self.fields["date"].initial = timezone.localdate()

    def clean_person(self) -> Any:
        return self.people[self.cleaned_data["person"]]

    def clean_date(self) -> Any:
        date = self.cleaned_data["date"]
        if date > timezone.localdate():
            raise ValidationError(_("日期不能晚于今天"))
        return date


def add_service_errors(form: forms.Form, exc: ValidationError, default_field: str | None = None) -> None:
    """Put a service's ValidationError onto the form: per field when it names fields the form has."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(default_field if default_field in form.fields else None, exc.messages)
