"""Form pieces the apps share."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms


class ResendSafeForm(forms.Form):
    """A form the phone may send twice (a double tap, a retry on a bad network): it carries a uuid,
    new each time the form is shown, which the view records once."""

    client_uuid = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("client_uuid", uuid.uuid4())
