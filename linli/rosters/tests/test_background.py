"""With ROSTER_IMPORT_IN_BACKGROUND the page answers at once and a thread runs the import."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from linli.lib.testing import Personas, make_id_number
from linli.registry.models import Person
from linli.rosters.models import ImportJob, ImportStatus
from linli.rosters.tests.conftest import person_row


@pytest.mark.django_db(transaction=True)
def test_a_background_import_runs_in_its_own_thread_and_finishes(
    personas: Personas, client_for: Any, roster: Callable[..., Path], settings: Any
) -> None:
    settings.ROSTER_IMPORT_IN_BACKGROUND = True
    id_number = make_id_number()
    path = roster([person_row(身份证号=id_number)])

    response = client_for(personas.community_worker).post(
        reverse("rosters:index"), {"file": SimpleUploadedFile(path.name, path.read_bytes()), "mode": "all"}
    )

    assert response.status_code == 302
    for thread in threading.enumerate():
        if thread.name.startswith("roster-import-"):
            thread.join(timeout=60)
    job = ImportJob.objects.get()
    assert (job.status, job.created_people) == (ImportStatus.DONE, 1)
    assert Person.objects.filter(id_number=id_number).exists()
