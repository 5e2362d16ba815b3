"""Partnership administration: users and roles, partner organisations, audit
log; and tenant isolation between partnerships."""

from __future__ import annotations

import re

import sqlalchemy as sa
from conftest import sign_in

from consult.extensions import db
from consult.models import AuditEvent, Membership, PartnerOrganisation, User


def test_admin_adds_a_user_who_can_sign_in(app, client, signed_in):
    signed_in("admin")
    response = client.post_form(
        "/manage/users",
        {"email": "New.Person@North.example", "name": "New Person", "role": "viewer"},
    )
    # The admin never types a password for someone: they get a one-time link to hand on.
    assert response.status_code == 200
    link = re.search(r"/set-password/[A-Za-z0-9_\-]+", response.get_data(as_text=True)).group(0)
    client.post_form("/sign-out", {}, token_from="/manage")
    response = client.post_form(
        link, {"password": "a long chosen passphrase", "confirm": "a long chosen passphrase"}
    )
    assert response.status_code == 302
    assert (
        sign_in(client, "new.person@north.example", "a long chosen passphrase").status_code == 302
    )


def test_add_user_bad_input_is_explained(client, signed_in):
    email = signed_in("admin")
    response = client.post_form("/manage/users", {"email": email, "role": "viewer"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "already has access to this partnership" in body
    response = client.post_form("/manage/users", {"email": "not an email", "role": "viewer"})
    assert response.status_code == 400
    assert "correct format" in response.get_data(as_text=True)
    response = client.post_form("/manage/users", {"email": "x@y.example", "role": "overlord"})
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)


def test_last_admin_cannot_be_demoted(app, client, signed_in):
    email = signed_in("admin")
    with app.app_context():
        membership = db.session.scalars(
            sa.select(Membership).join(User).where(User.email == email)
        ).one()
        membership_id = membership.id
    response = client.post_form(
        f"/manage/users/{membership_id}/role", {"role": "viewer"}, token_from="/manage/users"
    )
    assert response.status_code == 302
    page = client.get("/manage/users").get_data(as_text=True)
    assert "at least one administrator" in page
    with app.app_context():
        assert db.session.get(Membership, membership_id).role == "admin"


def test_partner_organisations(app, client, signed_in):
    signed_in("admin")
    response = client.post_form(
        "/manage/partners", {"name": "North Fire and Rescue", "kind": "fire"}
    )
    assert response.status_code == 302
    assert "North Fire and Rescue" in client.get("/manage/partners").get_data(as_text=True)
    response = client.post_form("/manage/partners", {"name": "", "kind": ""})
    assert response.status_code == 400
    assert "Enter the organisation" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(PartnerOrganisation.id))) == 1


def test_audit_log_records_sign_in_and_is_admin_only(app, client, signed_in):
    signed_in("admin")
    page = client.get("/manage/audit").get_data(as_text=True)
    assert "sign in" in page
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "sign_in")
            )
            == 1
        )


def test_other_partnership_membership_is_404(app, client, accounts, signed_in):
    other = accounts.user("admin", partnership="south-csp")
    with app.app_context():
        other_membership = (
            db.session.scalars(sa.select(Membership).join(User).where(User.email == other)).one().id
        )
    signed_in("admin")
    response = client.post_form(
        f"/manage/users/{other_membership}/role", {"role": "viewer"}, token_from="/manage/users"
    )
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(Membership, other_membership).role == "admin"


def test_users_page_lists_only_own_partnership(client, accounts, signed_in):
    accounts.user("officer", partnership="south-csp")
    signed_in("admin")
    page = client.get("/manage/users").get_data(as_text=True)
    assert "officer@south-csp.example" not in page
    assert "admin@north-csp.example" in page
