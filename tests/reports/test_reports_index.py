from tests.conftest import PASSWORD


def test_reports_lists_the_reports_and_asks_for_a_login(client, am_alice):
    assert client.get("/reports/").status_code == 302  # to the login page

    assert client.login(email=am_alice.email, password=PASSWORD)
    page = client.get("/reports/")

    assert page.status_code == 200
    assert 'href="/"' in page.text and "Dashboard" in page.text
    assert "only the customers you may see" in page.text
