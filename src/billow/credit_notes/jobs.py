"""The credit notes package's job kinds (registered in ``billow.runtime``)."""

from __future__ import annotations

from billow.credit_notes.termination import TERMINATION_CREDIT_NOTE_JOB, handle_termination_credit_note
from billow.jobs.registry import JobKind


def credit_note_job_kinds() -> list[JobKind]:
    return [JobKind(TERMINATION_CREDIT_NOTE_JOB, handle_termination_credit_note)]
