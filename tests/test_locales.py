"""A widget's data-locale picks that profile's numbers in the page, the welcome and every reply."""
from __future__ import annotations

import re


def test_engine_has_a_responder_per_profile(engine):
    assert engine.responder_for("en-US").profile.emergency_number == "911"
    assert engine.responder_for("en-GB").profile.emergency_number == "999"
    assert engine.responder_for(None) is engine.responder
    assert engine.responder_for("xx-YY") is engine.responder, "an unknown locale falls back to the default"


def test_http_reply_in_the_asked_locale(client):
    us = client.post("/api/ask", json={"message": "I want to end my life", "locale": "en-US"}).get_json()
    assert "988" in us["text"] and "911" in us["text"] and "116 123" not in us["text"]
    gb = client.post("/api/ask", json={"message": "I want to end my life", "locale": 42}).get_json()
    assert "116 123" in gb["text"]


def test_socket_welcome_and_reply_in_the_asked_locale(app):
    socket = app.extensions["socketio"].test_client(app, auth={"locale": "en-US"})
    (welcome,) = [e for e in socket.get_received() if e["name"] == "welcome"]
    assert "911" in welcome["args"][0]["text"]
    socket.emit("ask", {"message": "I can't breathe", "locale": "en-US"})
    (reply,) = [e for e in socket.get_received() if e["name"] == "reply"]
    assert reply["args"][0]["text"].count("911") >= 1 and "999" not in reply["args"][0]["text"]
    socket.disconnect()


def test_embed_page_and_loader_carry_the_locale_numbers(client):
    html = client.get("/embed?locale=en-US").get_data(as_text=True)
    assert re.search(r'data-locale="en-US"', html) and re.search(r'data-emergency="911"', html)
    assert 'data-emergency="999"' in client.get("/embed").get_data(as_text=True)
    loader = client.get("/widget.js").get_data(as_text=True)
    assert '"en-US": {"emergency": "911"' in loader and '"emergency": "999"' in loader
