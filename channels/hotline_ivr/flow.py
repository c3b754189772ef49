"""The hotline's call flow: one function per step, each answering with TwiML.

Keys (contract, docs/contract.md): the language menu offers the configured locales
in order, 1 for the first; the main menu is 1 make a report, 2 check a
report, 3 hear how reports are handled (and 4 help now, when a help
services directory is configured: `helpline`); to check, the case number
then #, then the PIN then #. Case numbers and PINs are read digit by digit.

A report: category (1-3) → "is someone in danger now" (1 yes, 2 no) →
the statement, recorded (up to 3 minutes, # to finish) → 1 keep it, 2 say
it again → who did it (1 soldier, 2 police, 3 UN or aid staff, 4 someone
else, 0 not sure; Case.personnel_category) → filed at once
(gateway.work.reporter.submit_report) → case number and PIN
read twice, slowly → 1 hear them again (and, when someone is in danger and
the staffed line is open, 2 speak to someone now; with a directory, 3 help
now). When the caller says someone is in danger, the help message plays at
once, before the statement is asked for, and "who did it" is not asked:
the receipt and the offer of a person come first.

Silence or a wrong key: the question once more, then a polite goodbye;
never a dead line. Some questions differ on purpose: the category, the
danger and the "who did it" question are skipped after the second silence
(a caller who does not know which key fits must still be able to report),
and a recorded statement is kept after the second silence (a statement
once spoken is not thrown away).

TwiML: https://www.twilio.com/docs/voice/twiml (Gather, Record, Redirect,
Dial, Say, Play, Pause, Hangup).
"""

from __future__ import annotations

from collections.abc import Callable

from twilio.twiml.voice_response import VoiceResponse

from . import calls, checking, filing, helpline, recordings
from .filing import CATEGORIES, DANGER, FINAL_CALL_STATUSES
from .prompts import Speaker
from .steps import KEY_TIMEOUT, Call, again, ask, goodbye

RECORD_SILENCE = 15  # seconds of silence that end a statement (people pause to think)
RECORD_MAX_SECONDS = 180


def language_menu(call: Call, r: VoiceResponse) -> None:
    action = call.url("language")
    gather = r.gather(action=action, method="POST", num_digits=1, timeout=KEY_TIMEOUT)
    for n, locale in enumerate(call.locales, start=1):
        speaker = Speaker(call.gw.settings, locale, call.uploaded.get(locale))
        speaker.prompt(gather, "language_option")
        speaker.digits(gather, str(n))
    r.redirect(action, method="POST")


def incoming(call: Call) -> VoiceResponse:
    """A new call: the language menu, or straight to the welcome with one language."""
    r = VoiceResponse()
    if len(call.locales) == 1:
        welcome(call, r)
    else:
        language_menu(call, r)
    return r


def on_language(call: Call) -> VoiceResponse:
    keys = [str(n) for n in range(1, len(call.locales) + 1)]
    if call.digits in keys:
        r = VoiceResponse()
        welcome(call.but(lang=call.locales[keys.index(call.digits)], tries=0), r)
        return r
    return again(call, language_menu)


def welcome(call: Call, r: VoiceResponse) -> None:
    call.speaker.prompt(r, "welcome")
    main_menu(call, r)


def main_menu(call: Call, r: VoiceResponse) -> None:
    prompts = ["main_menu"]
    if helpline.service(call.gw) is not None:
        prompts.append("help_option")
    ask(call, r, "menu", prompts)


def on_menu(call: Call) -> VoiceResponse:
    r = VoiceResponse()
    fresh = call.but(tries=0)
    if call.digits == "1":
        category_question(fresh, r)
    elif call.digits == "2":
        checking.case_number_question(fresh, r)
    elif call.digits == "3":
        call.speaker.prompt(r, "how_handled")
        main_menu(fresh, r)
    elif call.digits == helpline.MENU_KEY and (found := helpline.service(call.gw)):
        helpline.help_screen(fresh, r, found)
    else:
        return again(call, main_menu)
    return r


def category_question(call: Call, r: VoiceResponse) -> None:
    ask(call, r, "category", ["category"])


def danger_question(call: Call, r: VoiceResponse) -> None:
    ask(call, r, "danger", ["danger"])


def on_category(call: Call) -> VoiceResponse:
    if call.digits in CATEGORIES:
        r = VoiceResponse()
        danger_question(call.but(category=call.digits, tries=0), r)
        return r
    return again(call, category_question, give_up=danger_question)


def on_danger(call: Call) -> VoiceResponse:
    if call.digits in DANGER:
        r = VoiceResponse()
        found = helpline.service(call.gw) if call.digits == "1" else None
        if found is not None:  # someone in danger: where to get help comes first
            helpline.read_help(call, r, found)
            r.pause(length=1)
        record_statement(call.but(danger=call.digits, tries=0), r)
        return r
    return again(call, danger_question, give_up=record_statement)


def on_help(call: Call) -> VoiceResponse:
    """After the help message: 1 hears it again; any other key or silence goes back.

    Back to the receipt's menu when the call has filed a report (its receipt
    travels in the state), else to the main menu.
    """
    r = VoiceResponse()
    fresh = call.but(tries=0)
    found = helpline.service(call.gw)
    if call.digits == helpline.AGAIN_KEY and found is not None:
        helpline.help_screen(fresh, r, found)
    elif call.state.receipt:
        filing.receipt_menu(fresh, r)
    else:
        main_menu(fresh, r)
    return r


def record_statement(call: Call, r: VoiceResponse) -> None:
    """The statement: a beep, up to three minutes, # to finish."""
    call.speaker.prompt(r, "record_intro")
    base = (call.gw.settings.public_base_url or "").rstrip("/")
    action = call.url("recorded", call.state.but(recording=""))
    r.record(
        action=action,
        method="POST",
        max_length=RECORD_MAX_SECONDS,
        finish_on_key="#",
        timeout=RECORD_SILENCE,
        play_beep=True,
        trim="trim-silence",
        recording_status_callback=f"{base}/ivr/twilio/status",
        recording_status_callback_event="completed absent",
    )
    r.redirect(action, method="POST")  # Twilio goes on here when nothing was recorded


def on_recorded(call: Call) -> VoiceResponse:
    """Twilio has the statement: keep it or say it again (or file it if the caller left)."""
    url = call.params.get("RecordingUrl", "")
    if not url:
        r = VoiceResponse()
        call.speaker.prompt(r, "record_nothing")
        if call.state.tries == 0:
            record_statement(call.but(tries=1), r)
            return r
        return goodbye(call, r, "goodbye_no_answer")
    kept = call.but(recording=url, tries=0)
    gone = call.digits == "hangup" or call.params.get("CallStatus") in FINAL_CALL_STATUSES
    if gone:  # hung up while speaking: what was said is the report
        filing.file_quietly(call.gw, kept.state)
        return VoiceResponse()
    calls.remember_statement(call.gw, call.sid, kept.state)
    r = VoiceResponse()
    confirm_question(kept, r)
    return r


def confirm_question(call: Call, r: VoiceResponse) -> None:
    ask(call, r, "confirm", ["confirm"])


def on_confirm(call: Call) -> VoiceResponse:
    if call.digits == "2":
        recordings.discard(call.gw, call.state.recording)
        calls.forget_statement(call.gw, call.sid)
        r = VoiceResponse()
        record_statement(call.but(recording="", tries=0), r)
        return r
    if call.digits == "1" or call.state.tries > 0:  # kept, also after a second silence
        if call.state.danger == "1":  # someone in danger: the receipt and help come first
            return filing.file_and_read(call)
        r = VoiceResponse()
        who_question(call.but(tries=0), r)
        return r
    return again(call, confirm_question)


def who_question(call: Call, r: VoiceResponse) -> None:
    ask(call, r, "who", ["who"])


def on_who(call: Call) -> VoiceResponse:
    """Who did it: one key, or filed without it after a second silence or wrong key."""
    if call.digits in calls.WHO:
        return filing.file_and_read(call.but(personnel=calls.WHO[call.digits], tries=0))
    if call.state.tries > 0:
        return filing.file_and_read(call.but(tries=0))
    return again(call, who_question)


STEPS: dict[str, Callable[[Call], VoiceResponse]] = {
    "voice": incoming,
    "language": on_language,
    "menu": on_menu,
    "category": on_category,
    "danger": on_danger,
    "recorded": on_recorded,
    "confirm": on_confirm,
    "who": on_who,
    "file": filing.file_and_read,
    "receipt": filing.on_receipt,
    "dialed": filing.on_dialed,
    "help": on_help,
    "case-number": checking.on_case_number,
    "pin": checking.on_pin,
    "answer-offer": checking.on_answer_offer,
    "answered": checking.on_answered,
}
