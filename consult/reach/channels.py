"""Reach: outreach channels (see consult/reach/__init__.py).

An officer creates a channel per partner organisation, event, community
centre or youth council; each gets its own link, QR code and printable
poster, and paper forms keyed in can be assigned to it. The list page is
also the outreach plan: the groups still missing, how many more responses
each needs, and which channels have reached them."""

from __future__ import annotations

import io
from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, url_for
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovTextInput
from wtforms import RadioField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from ..extensions import db
from ..forms import BaseForm, choices
from ..models import OutreachChannel, Role, Survey
from ..security import has_role, owned_or_404, role_required
from ..services import ServiceError, outreach
from ..services import fieldwork as fieldwork_service
from ..vocabulary import OUTREACH_KINDS
from . import bp


class ChannelForm(BaseForm):
    name = StringField(
        "Name",
        widget=GovTextInput(),
        description="As officers will know it, like “Highfields Youth Council” or “Eid fair 2026”.",
        validators=[
            DataRequired("Enter a name for the channel"),
            Length(max=outreach.NAME_MAX, message="The name must be 120 characters or fewer"),
        ],
    )
    kind = RadioField(
        "Kind of channel",
        widget=GovRadioInput(),
        choices=choices(list(OUTREACH_KINDS)),
        validators=[DataRequired("Choose the kind of channel")],
    )


class RenameForm(BaseForm):
    name = StringField(
        "New name",
        widget=GovTextInput(),
        validators=[
            DataRequired("Enter a name for the channel"),
            Length(max=outreach.NAME_MAX, message="The name must be 120 characters or fewer"),
        ],
    )


class TargetForm(BaseForm):
    # A text field read by the service (not IntegerField): "abc" then gets the
    # same plain message as 0 or 100000.
    usable_base = StringField(
        "Usable effective base per group",
        widget=GovTextInput(),
        description="The effective number of responses you need from a group to report it "
        "on its own. The default is 100.",
        validators=[InputRequired("Enter a whole number of responses from 10 to 10,000")],
    )

    def number(self) -> int | None:
        text = (self.usable_base.data or "").strip().replace(",", "")
        return int(text) if text.isdigit() and len(text) <= 9 else None


def _channel_or_404(survey: Survey, channel_id: int) -> OutreachChannel:
    channel = outreach.get_channel(survey, channel_id)
    if channel is None:
        abort(404)
    return channel


def _field_error(form: BaseForm, error: ServiceError) -> None:
    field = form._fields.get(error.field or "name")
    if field is not None:
        field.errors = [*field.errors, error.message]


def _list_page(
    survey: Survey,
    form: ChannelForm | None = None,
    target_form: TargetForm | None = None,
    status: int = 200,
) -> Any:
    monitor = fieldwork_service.monitor(survey)
    if target_form is None:
        target_form = TargetForm(formdata=None, usable_base=str(outreach.usable_base(survey)))
    form = form or ChannelForm(formdata=None)
    errors = [*form.error_list(), *target_form.error_list()]
    return render_template(
        "reach/channels.html",
        survey=survey,
        form=form,
        target_form=target_form,
        errors=errors,
        form_has_errors=bool(errors),
        channels=outreach.channels(survey),
        m=monitor,
        o=monitor.outreach,
        kinds=outreach.KIND_LABELS,
        can_edit=has_role(Role.OFFICER),
    ), status


@bp.get("/<int:survey_id>/channels")
@role_required(Role.VIEWER)
def channels(survey_id: int) -> Any:
    survey = owned_or_404(Survey, survey_id)
    return _list_page(survey)


@bp.post("/<int:survey_id>/channels")
@role_required(Role.OFFICER)
def create_channel(survey_id: int) -> Any:
    survey = owned_or_404(Survey, survey_id)
    form = ChannelForm()
    if form.validate_on_submit():
        try:
            channel = outreach.create_channel(
                survey, form.name.data or "", form.kind.data or "", by=g.user
            )
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            _field_error(form, error)
        else:
            flash(
                f"Channel “{channel.name}” created: print its poster or share its link.", "success"
            )
            return redirect(url_for("reach.channel", survey_id=survey.id, channel_id=channel.id))
    return _list_page(survey, form=form, status=400)


@bp.post("/<int:survey_id>/outreach-target")
@role_required(Role.OFFICER)
def set_target(survey_id: int) -> Any:
    survey = owned_or_404(Survey, survey_id)
    form = TargetForm()
    if form.validate_on_submit():
        try:
            outreach.set_usable_base(survey, form.number(), by=g.user)
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            _field_error(form, error)
        else:
            flash(f"Usable base set to {form.number()} responses per group.", "success")
            return redirect(url_for("reach.channels", survey_id=survey.id))
    return _list_page(survey, target_form=form, status=400)


def _channel_page(
    survey: Survey, channel: OutreachChannel, form: RenameForm | None = None, status: int = 200
) -> Any:
    link = outreach.channel_link(survey, channel)
    form = form or RenameForm(formdata=None, name=channel.name)
    return render_template(
        "reach/channel.html",
        survey=survey,
        channel=channel,
        link=link,
        qr=outreach.qr_svg(link, label=f"QR code for the link of {channel.name}"),
        form=form,
        errors=form.error_list(),
        form_has_errors=bool(form.errors),
        submitted=outreach.submitted_count(channel),
        kinds=outreach.KIND_LABELS,
        can_edit=has_role(Role.OFFICER),
    ), status


@bp.get("/<int:survey_id>/channels/<int:channel_id>")
@role_required(Role.VIEWER)
def channel(survey_id: int, channel_id: int) -> Any:
    survey = owned_or_404(Survey, survey_id)
    return _channel_page(survey, _channel_or_404(survey, channel_id))


@bp.post("/<int:survey_id>/channels/<int:channel_id>/rename")
@role_required(Role.OFFICER)
def rename_channel(survey_id: int, channel_id: int) -> Any:
    survey = owned_or_404(Survey, survey_id)
    channel = _channel_or_404(survey, channel_id)
    form = RenameForm()
    if form.validate_on_submit():
        try:
            outreach.rename_channel(channel, survey, form.name.data or "", by=g.user)
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            _field_error(form, error)
        else:
            flash("Channel renamed. Its link and QR code are unchanged.", "success")
            return redirect(url_for("reach.channel", survey_id=survey.id, channel_id=channel.id))
    return _channel_page(survey, channel, form, 400)


@bp.post("/<int:survey_id>/channels/<int:channel_id>/archive")
@role_required(Role.OFFICER)
def archive_channel(survey_id: int, channel_id: int) -> Any:
    survey = owned_or_404(Survey, survey_id)
    channel = _channel_or_404(survey, channel_id)
    outreach.archive_channel(channel, survey, by=g.user)
    db.session.commit()
    flash(
        f"Channel “{channel.name}” archived. Its link now opens the survey without "
        "recording the channel; its responses keep it.",
        "success",
    )
    return redirect(url_for("reach.channels", survey_id=survey.id))


@bp.get("/<int:survey_id>/channels/<int:channel_id>/poster.pdf")
@role_required(Role.VIEWER)
def poster(survey_id: int, channel_id: int) -> Any:
    survey = owned_or_404(Survey, survey_id)
    channel = _channel_or_404(survey, channel_id)
    pdf = outreach.poster_pdf(survey, channel)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="poster-{survey.slug}-{channel.token}.pdf"'
        },
    )


@bp.get("/<int:survey_id>/channels/<int:channel_id>/qr.png")
@role_required(Role.VIEWER)
def qr_png(survey_id: int, channel_id: int) -> Any:
    """The QR code alone, for a partner's own leaflet or slide."""
    import segno

    survey = owned_or_404(Survey, survey_id)
    channel = _channel_or_404(survey, channel_id)
    buffer = io.BytesIO()
    segno.make(outreach.channel_link(survey, channel), error="m").save(
        buffer, kind="png", scale=12, border=4
    )
    return Response(
        buffer.getvalue(),
        mimetype="image/png",
        headers={"Content-Disposition": f'attachment; filename="qr-{channel.token}.png"'},
    )
