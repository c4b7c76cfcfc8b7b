import socket

import pytest

from portal.celery import app as celery_app


@pytest.fixture
def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthz_answers_200_when_database_and_broker_answer(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_healthz_names_the_broker_when_it_does_not_answer(client, db, closed_port):
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = f"redis://127.0.0.1:{closed_port}/0"
    try:
        response = client.get("/healthz")
    finally:
        celery_app.conf.broker_url = previous
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"]
    assert body["checks"]["database"] == "ok"
