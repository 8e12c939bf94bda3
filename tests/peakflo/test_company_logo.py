import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from peakflo.models import Company

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_the_logo_is_served_and_no_upload_folder_is(client, db):
    assert client.get("/branding/logo").status_code == 404
    company = Company.load()
    company.logo = SimpleUploadedFile("logo.png", PNG)
    company.save()

    response = client.get("/branding/logo")

    assert response.status_code == 200 and b"".join(response.streaming_content) == PNG
    assert client.get(f"/media/{company.logo.name}").status_code in (302, 404)
