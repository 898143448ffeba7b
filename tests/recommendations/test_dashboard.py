"""The dashboard's recommendations page: each model's scores beside the baseline, training
on demand, and rules made and removed from the page."""

from __future__ import annotations

from mercato.recommendations import rules, training
from tests.helpers import csrf_of, signed_in
from tests.recommendations.conftest import NOW


def test_scores_beside_the_baseline_training_and_rules(client, sessions, history, drain):
    viewer = signed_in(client, sessions, "recommendations:read", name="ana")
    page = viewer.get("/admin/recommendations").text
    assert "No version trained yet" in page and "Train now" not in page

    history.customer("ann")
    for days in (30, 20, 10):
        history.order("tea", "kettle", customer="ann", days_ago=days)
    training.train(sessions, NOW)
    page = viewer.get("/admin/recommendations").text
    assert 'id="model-personal"' in page and 'id="model-own_top_10"' in page
    assert "Buyers evaluated: 1" in page

    editor = signed_in(client, sessions, "recommendations:write", name="mia")
    page = editor.get("/admin/recommendations").text
    csrf = csrf_of(page)
    queued = editor.post(
        "/admin/recommendations/train", data={"csrf": csrf}, follow_redirects=False
    )
    assert queued.status_code == 303
    drain()
    with sessions() as session:
        assert len(training.versions(session)) == 2

    added = editor.post(
        "/admin/recommendations/rules",
        data={"csrf": csrf, "handle": "kettle", "action": "exclude", "list": ""},
        follow_redirects=True,
    ).text
    assert "Rule added: exclude Kettle Equipment." in added
    assert "exclude <strong>Kettle Equipment</strong> everywhere" in added
    wrong = editor.post(
        "/admin/recommendations/rules",
        data={"csrf": csrf, "handle": "nope", "action": "pin"},
        follow_redirects=True,
    ).text
    assert "nope" in wrong and "Rule added" not in wrong
    with sessions() as session:
        [rule] = rules.list_rules(session)
    removed = editor.post(
        f"/admin/recommendations/rules/{rule.id}/delete",
        data={"csrf": csrf},
        follow_redirects=True,
    ).text
    assert "Rule removed." in removed and "No rules." in removed

    viewer = signed_in(client, sessions, "recommendations:read", name="leo")  # signs mia out
    own_csrf = csrf_of(viewer.get("/admin/recommendations").text)
    refused = viewer.post("/admin/recommendations/train", data={"csrf": own_csrf})
    assert refused.status_code == 403
    with sessions() as session:
        assert len(training.versions(session)) == 2
