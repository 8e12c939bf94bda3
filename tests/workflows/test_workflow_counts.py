from tests.conftest import PASSWORD


def test_customer_counts_on_the_workflow_list_follow_the_visibility_rule(client, book, am_alice, admin_user):
    # The book has five customers, none on a workflow of their own: all follow the default.
    assert client.login(email=am_alice.email, password=PASSWORD)
    mine = client.get("/settings/workflows/")
    assert client.login(email=admin_user.email, password=PASSWORD)
    everyone = client.get("/settings/workflows/")

    default = next(w for w in mine.context["workflows"] if w.is_default)
    assert default.used_by == 3  # Acme, Globex and Initech, which Alice views
    assert next(w for w in everyone.context["workflows"] if w.is_default).used_by == 5
