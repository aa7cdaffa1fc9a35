"""Safety profiles (numbers to call) and the bot's own messages, from locales.yaml."""
from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from typing import Any, Mapping

PLACEHOLDERS = ("emergency", "team", "crisis_lines", "urgent_help", "clinic", "contacts")
MESSAGE_KEYS = ("welcome", "disclaimer", "emergency", "crisis", "warning", "mention", "reminder", "advice",
                "advice_general", "fallback", "clarify", "offline")
# Messages added after the first version: a locales.yaml written before them still loads, with these words.
OPTIONAL_MESSAGES = {
    "contact": "I am an automated helper, and nobody reads this chat. To talk to a person, contact {clinic}: "
               "{contacts} If you are worried about symptoms now, call {team}. In an emergency, call {emergency}.",
    "contact_none": "I am an automated helper, and nobody reads this chat. To talk to a person, please contact "
                    "your care team. If you are worried about symptoms now, call {team}. "
                    "In an emergency, call {emergency}.",
    "more": "Here is more of what the source says about this:",
    "more_chip": "Tell me more",
    "no_more": "That is all the source says about this. You could ask one of these:",
}
_PROFILE_SPEC = {"emergency_number": ("text", True), "urgent_help": ("text", False),
                 "crisis_lines": ("texts", True), "clinic_name": ("text", False), "team_number": ("text", False),
                 "team": ("text", False), "team_without_number": ("text", False), "contacts": ("map", False)}
# How a profile may word whom to call ({team} in the messages): the clinic's own words, with these placeholders.
TEAM_PLACEHOLDERS = ("clinic_name", "team_number")
_CONTACTS_SPEC = {"phone": ("text", False), "hours": ("text", False), "email": ("text", False),
                  "contact_page": ("text", False), "address": ("text", False)}
_PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{2,30}$")
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[a-z]{2,}$", re.IGNORECASE)
_PAGE = re.compile(r"^https://[^\s<>\"]+$")


@dataclass(frozen=True)
class Contacts:
    """How a patient reaches a person at the clinic; every field may be empty."""

    phone: str = ""
    hours: str = ""
    email: str = ""
    contact_page: str = ""
    address: str = ""

    def __bool__(self) -> bool:
        return bool(self.phone or self.email or self.contact_page)

    def lines(self) -> tuple[str, ...]:
        """Return the contacts as short lines of plain text, one way of reaching the clinic each."""
        lines = []
        if self.phone:
            lines.append(f"Phone: {self.phone}" + (f" ({self.hours})" if self.hours else ""))
        if self.email:
            lines.append(f"E-mail: {self.email}")
        if self.contact_page:
            lines.append(f"Contact page: {self.contact_page}")
        if self.address:
            lines.append(f"Address: {self.address}")
        return tuple(lines)

    def to_dict(self) -> dict[str, str]:
        """Return the contacts as the chat page and the welcome carry them."""
        return {"phone": self.phone, "hours": self.hours, "email": self.email, "contact_page": self.contact_page,
                "address": self.address}


@dataclass(frozen=True)
class Profile:
    """The numbers and messages in force: one locale, with the clinic's own name and number."""

    locale: str
    emergency_number: str
    urgent_help: str
    crisis_lines: tuple[str, ...]
    clinic_name: str
    team_number: str
    messages: Mapping[str, str]
    smalltalk: Mapping[str, str]
    team_wording: str = ""
    team_without_number: str = ""
    contacts: Contacts = field(default_factory=Contacts)

    @property
    def team(self) -> str:
        """Say whom to call for a warning sign in the clinic's own words (its profile's team: and
        team_without_number:), or plainly: the care team, with its number when the clinic has set one."""
        if self.team_number:
            wording = self.team_wording
            if not wording or ("{clinic_name}" in wording and not self.clinic_name):
                wording = "the {clinic_name} care team on {team_number}" if self.clinic_name \
                    else "your care team on {team_number}"
            return wording.format(clinic_name=self.clinic_name, team_number=self.team_number)
        if self.team_without_number:
            return self.team_without_number.format(clinic_name=self.clinic_name, team_number="")
        return f"the {self.clinic_name} care team" if self.clinic_name else "your care team"

    def say(self, key: str) -> str:
        """Return one message with the profile's numbers filled in."""
        # Each contact on a line of its own: the chat shows every line as a paragraph.
        contacts = "\n" + "\n".join(self.contacts.lines()) + "\n" if self.contacts else "your care team."
        return self.messages[key].format(emergency=self.emergency_number, team=self.team,
                                         crisis_lines=" or ".join(self.crisis_lines),
                                         urgent_help=self.urgent_help, clinic=self.clinic_name or "the clinic",
                                         contacts=contacts)

    def contact(self) -> str:
        """Return the way to a person: the clinic's contacts, or its care-team wording when it has none."""
        return self.say("contact" if self.contacts else "contact_none")

    def smalltalk_for(self, words: list[str]) -> str:
        """Return the smalltalk line whose key word the message contains, else the default one."""
        for key, text in self.smalltalk.items():
            if key != "default" and any(w.startswith(key) for w in words):
                return text
        return self.smalltalk["default"]


def _check_template(checker: Any, line: int, key: str, text: str, allowed: tuple[str, ...] = PLACEHOLDERS) -> None:
    try:
        names = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    except ValueError as exc:
        checker.add(line, key, f"messages: {key}: broken placeholder: {exc}")
        return
    unknown = names - set(allowed)
    if unknown:
        checker.add(line, key, f"messages: {key}: unknown placeholder(s) {sorted(unknown)}; "
                               f"use {', '.join('{' + p + '}' for p in allowed)}")


def compile_profile(locales: Mapping[str, Any], checker: Any, *, locale: str = "",
                    clinic_name: str = "", team_number: str = "") -> Profile | None:
    """Validate locales.yaml and return the profile for a locale (default: the file's own); None on errors."""
    before = len(checker.problems)
    values = checker.record(locales, getattr(locales, "line", 1), "", {
        "default": ("text", True), "profiles": ("map", True), "messages": ("map", True)}, "locales.yaml")
    if not values or len(values) < 3:
        return None
    profiles = values["profiles"]
    chosen = locale or values["default"]
    for name, node in profiles.items():
        checked = checker.record(node, profiles.at(name), name, _PROFILE_SPEC, f"profile {name}") or {}
        for key in ("team", "team_without_number"):
            if key in checked:
                _check_template(checker, node.at(key), key, checked[key], TEAM_PLACEHOLDERS)
    if values["default"] not in profiles:
        checker.add(locales.at("default"), "", f"default: no profile named {values['default']!r}")
    if chosen not in profiles:
        checker.add(locales.at("profiles"), chosen,
                    f"no profile for locale {chosen!r} (FAQBOT_LOCALE); profiles: {', '.join(profiles)}")
    messages_node = values["messages"]
    messages: dict[str, str] = {}
    for key in MESSAGE_KEYS:
        if key not in messages_node:
            checker.add(messages_node.line, key, f"messages: {key}: missing")
            continue
        text = checker.value(messages_node[key], messages_node.at(key), key, f"messages: {key}", "text")
        if text:
            _check_template(checker, messages_node.at(key), key, text)
            messages[key] = text
    smalltalk_node = messages_node.get("smalltalk")
    smalltalk: dict[str, str] = {}
    if not isinstance(smalltalk_node, dict) or "default" not in smalltalk_node:
        checker.add(messages_node.at("smalltalk"), "smalltalk", "messages: smalltalk: needs a mapping with default:")
    else:
        for key, text in smalltalk_node.items():
            checked = checker.value(text, smalltalk_node.at(key), "smalltalk", f"messages: smalltalk: {key}", "text")
            if checked:
                _check_template(checker, smalltalk_node.at(key), key, checked)
                smalltalk[key.lower()] = checked
    for key, default in OPTIONAL_MESSAGES.items():
        text = default
        if messages_node.get(key) is not None:
            text = checker.value(messages_node[key], messages_node.at(key), key, f"messages: {key}", "text")
            if text:
                _check_template(checker, messages_node.at(key), key, text)
        if text:
            messages[key] = text
    for key in messages_node:
        if key not in MESSAGE_KEYS and key not in OPTIONAL_MESSAGES and key != "smalltalk":
            checker.add(messages_node.at(key), key, f"messages: unknown message {key!r}")
    contacts = {}
    for name, node in profiles.items():
        if isinstance(node, dict) and isinstance(node.get("contacts"), dict):
            contacts[name] = _contacts(node["contacts"], node.at("contacts"), name, checker)
    if len(checker.problems) > before:
        return None
    node = profiles[chosen]
    return Profile(locale=chosen, emergency_number=str(node["emergency_number"]),
                   urgent_help=str(node.get("urgent_help") or ""),
                   crisis_lines=tuple(node["crisis_lines"]),
                   clinic_name=clinic_name or str(node.get("clinic_name") or ""),
                   team_number=team_number or str(node.get("team_number") or ""),
                   messages=messages, smalltalk=smalltalk, contacts=contacts.get(chosen) or Contacts(),
                   team_wording=str(node.get("team") or "").strip(),
                   team_without_number=str(node.get("team_without_number") or "").strip())


def _contacts(node: Any, line: int, profile: str, checker: Any) -> Contacts | None:
    """Validate one profile's contacts: a phone with its hours, an e-mail address or a contact page, an address."""
    values = checker.record(node, line, profile, _CONTACTS_SPEC, f"profile {profile} contacts")
    if values is None:
        return None
    ok = True
    for key, pattern, hint in (("phone", _PHONE, "digits, spaces and + ( ) - only, e.g. \"020 7946 0000\""),
                               ("email", _EMAIL, "an address like \"clinic@example.org\""),
                               ("contact_page", _PAGE, "a web address starting https://")):
        if key in values and not pattern.match(values[key]):
            checker.add(node.at(key), profile, f"contacts: {key}: {values[key]!r} is not {hint}")
            ok = False
    if "phone" in values and "hours" not in values:
        checker.add(node.at("phone"), profile,
                    "contacts: hours: say when the phone is answered, e.g. \"Monday to Friday, 9 am to 5 pm\"")
        ok = False
    if "hours" in values and "phone" not in values:
        checker.add(node.at("hours"), profile, "contacts: hours: given without a phone number")
        ok = False
    if not any(k in values for k in ("phone", "email", "contact_page")):
        checker.add(line, profile, "contacts: give at least a phone (with hours), an email or a contact_page")
        ok = False
    return Contacts(**values) if ok else None
