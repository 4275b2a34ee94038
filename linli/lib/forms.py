"""Form pieces the apps share."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.db.models import QuerySet

from linli.lib.views import as_id


class ResendSafeForm(forms.Form):
    """A form the phone may send twice (a double tap, a retry on a bad network): it carries a uuid,
    new each time the form is shown, which the view records once."""

    client_uuid = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("client_uuid", uuid.uuid4())


class ModelIdsField(forms.ModelMultipleChoiceField):
    """Checkboxes of records: a posted value that cannot be an id (too large for the database, not ASCII
    digits) is refused as ``invalid_pk_value``, not sent to the database (an OverflowError on SQLite)."""

    def _check_values(self, value: Any) -> QuerySet[Any]:
        key = self.to_field_name or "pk"
        if key == "pk":
            for item in value:
                if isinstance(item, str) and as_id(item) is None:
                    raise forms.ValidationError(
                        self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": item}
                    )
        return super()._check_values(value)  # type: ignore[misc]
