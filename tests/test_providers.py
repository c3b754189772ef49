"""The registry of channels and providers the composition root fills (gateway.core.providers)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from channels.sms.webhooks import africastalking as sms_africastalking
from channels.sms.webhooks import kannel as sms_kannel
from channels.sms.webhooks import twilio as sms_twilio
from gateway.channel_packages import load_channels
from gateway.cli import main as cli_main
from gateway.core.config import DEMO_SETTINGS_FILE, Settings
from gateway.core.providers import Channel, Provider, Registry


def test_two_channels_cannot_declare_one_provider() -> None:
    """Every stored message names its provider: a look-up must find exactly one."""
    registry = Registry([Channel("sms", providers=(Provider("twilio"),))])
    with pytest.raises(ValueError, match="twilio"):
        registry.add(Channel("voice", providers=(Provider("twilio"),)))
    registry.add(Channel("sms", providers=(Provider("twilio"), Provider("kannel"))))  # a new copy
    assert [p.name for p in registry.providers] == ["twilio", "kannel"]


def test_the_installed_channels_declare_what_the_worker_looks_up() -> None:
    registry = load_channels()
    assert {c.name for c in registry.channels} >= {"sms", "telegram", "web_form", "hotline_ivr"}
    assert registry.conversation_channels() == {"sms", "whatsapp", "telegram"}
    names = [p.name for p in registry.providers]
    assert len(names) == len(set(names))
    for provider in ("twilio", "africastalking", "kannel", "telegram"):
        assert registry.sender(provider) is not None, provider
    assert registry.session_window("twilio", "whatsapp") == timedelta(hours=24)
    assert registry.session_window("twilio", "sms") is None
    assert registry.handler("telegram") is not None  # its own, around the conversation
    assert registry.handler("sms") is None  # the conversation's


def test_each_providers_routes_are_the_paths_its_webhooks_are_mounted_on(app) -> None:  # type: ignore[no-untyped-def]
    """A descriptor names its paths (the console shows them) apart from the webhook module
    that mounts them: the two must not drift."""
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    for provider in load_channels().providers:
        assert set(provider.routes) <= rules, provider.name
    for module in (sms_twilio, sms_africastalking, sms_kannel):
        provider = module.PROVIDER
        declared = load_channels().provider(provider)
        assert declared is not None
        assert {path for path, _methods, _adapter in module.ROUTES} == set(declared.routes)


@pytest.mark.parametrize("command", [["worker", "--burst"], ["serve"]])
def test_serve_and_worker_refuse_a_data_dir_with_a_demos_settings(
    command: list[str], env: dict[str, str], tmp_path, monkeypatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    """A demo killed before it removed demo.env must not hand its stand-ins on."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("KANNEL_SENDSMS_URL", raising=False)
    stand_in = "KANNEL_SENDSMS_URL=http://127.0.0.1:9/demo/sms/sendsms\n"
    (tmp_path / DEMO_SETTINGS_FILE).write_text(stand_in)
    assert cli_main([*command, "--data-dir", str(tmp_path)]) == 2
    assert "KANNEL_SENDSMS_URL" in capsys.readouterr().err


def test_the_demos_own_processes_have_its_settings_in_their_environment(
    env: dict[str, str], tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """What the demo made up is in its children's environment: demo.env fills nothing."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KANNEL_SENDSMS_URL", "http://127.0.0.1:9/demo/sms/sendsms")
    (tmp_path / DEMO_SETTINGS_FILE).write_text(
        "KANNEL_SENDSMS_URL=http://127.0.0.1:9/demo/sms/sendsms\n"
    )
    assert cli_main(["worker", "--burst", "--data-dir", str(tmp_path)]) == 0


def test_start_up_names_each_provider_missing_a_setting_and_what_follows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Every channel's check, through the registry the composition root fills."""
    keys = {
        "GATEWAY_SECRET_KEY": "s" * 32,
        "GATEWAY_DATA_KEY": "x" * 43 + "=",
        "GATEWAY_PSEUDONYM_KEY": "p" * 32,
    }
    registry = load_channels()
    bare = dict(registry.warnings(Settings.from_mapping(keys, tmp_path)))
    assert "Africa's Talking USSD is not fully configured" in bare["ussd"]
    assert "its endpoint refuses every session" in bare["ussd"]
    configured = Settings.from_mapping({**keys, "AFRICASTALKING_CALLBACK_KEY": "k"}, tmp_path)
    assert "ussd" not in dict(registry.warnings(configured))
