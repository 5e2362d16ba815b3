"""The one owner of a request's transaction. Services change objects and
flush; the view wraps the change in a `UnitOfWork`, which commits when the
block finishes, or rolls back and keeps the `ServiceError` for the page to
show. This replaces the try / except ServiceError / rollback block every view
used to repeat:

    with UnitOfWork() as work:
        builder.rename_section(section, form.title.data, by=g.user)
    if work.ok:
        return redirect_with("Section renamed.", target)
    form.refuse(work.error, "title")

Only `ServiceError` (a refusal meant for the user) is caught; anything else
propagates, and the request's teardown discards the session."""

from __future__ import annotations

from types import TracebackType

from flask import flash, redirect
from werkzeug.wrappers import Response

from .extensions import db
from .services import ServiceError


class UnitOfWork:
    def __init__(self) -> None:
        self.error: ServiceError | None = None

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if error is None:
            db.session.commit()
            return False
        if isinstance(error, ServiceError):
            db.session.rollback()
            self.error = error
            return True
        return False

    @property
    def ok(self) -> bool:
        return self.error is None

    def redirect(self, message: str, target: str) -> Response:
        """Post/Redirect/Get either way: the success message, or the refusal."""
        if self.error is None:
            flash(message, "success")
        else:
            flash(self.error.message, "error")
        return redirect(target)


def redirect_with(message: str, target: str) -> Response:
    flash(message, "success")
    return redirect(target)
