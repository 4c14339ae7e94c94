"""What the kiosk and the phone page share: the counter behind an address, the version a page was made
from, the one submission ceiling, and page fragments rendered once per version and language."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from flask import abort, current_app, request
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from .extensions import limiter
from .kiosk.devices import DEVICE_COOKIE, registered_device
from .netaddr import request_address
from .parsing import parse_id
from .surveys.specs import CounterInfo, UnknownCounter, UnknownVersion, VersionSpec, counter_info, version_for_page

FRAGMENT_CACHE_MAX = 4096  # about ten pages a counter (languages, channels, devices): hundreds of counters
# Stand-ins for the per-request values of a cached page (form token, response key), replaced on the way out.
CSRF_SLOT = "csrf0slot0f0a0cached0page"
KEY_SLOT = "key0slot0f0a0cached0page"
SECONDS_PER_QUESTION = 10  # what citizens took in the browser tests, rounded up: the intro must not promise less


def _submit_limit() -> str:
    return current_app.config["SURVEY_SUBMIT_LIMIT"]


def submitter() -> str:
    """Whom the ceiling counts: a registered kiosk by its device (a centre's kiosks share one address);
    anyone else, whatever cookie they send, by address."""
    device = registered_device(request.cookies.get(DEVICE_COOKIE))
    return f"device:{device.id}" if device is not None else request_address()


# One ceiling per submitter across every way of submitting a survey.
submit_limit = limiter.shared_limit(_submit_limit, scope="survey_submit", key_func=submitter)


def counter_or_404(code: str) -> CounterInfo:
    """The active counter with this code, from the per-process cache."""
    try:
        return counter_info(code)
    except UnknownCounter:
        abort(404, description=_("Không tìm thấy quầy này. Vui lòng quét lại mã QR dán tại quầy."))


def current_version_or_503(counter: CounterInfo) -> VersionSpec:
    """The version citizens answer at this counter now."""
    if counter.version_id is None:
        abort(503, description=_("Quầy này chưa có phiếu khảo sát đang áp dụng."))
    return version_for_page(counter, None)


def page_version(counter: CounterInfo, raw_version_id: object) -> VersionSpec:
    """The version the submitted page showed; UnknownVersion when it names none this counter asks."""
    if raw_version_id in (None, ""):
        return current_version_or_503(counter)
    version_id = parse_id(raw_version_id)
    if version_id is None:
        raise UnknownVersion(raw_version_id)
    return version_for_page(counter, version_id)


def no_store(response: Any) -> Any:
    """A citizen's page is never kept by the browser: the next citizen must not see it in the history."""
    response.headers["Cache-Control"] = "no-store"
    return response


def fill_slots(page: str, key: str | None = None) -> str:
    """A cached page with this request's form token (and response key) put in."""
    page = page.replace(CSRF_SLOT, generate_csrf())
    return page.replace(KEY_SLOT, key) if key is not None else page


_fragments_lock = threading.Lock()


def cached_fragment(key: Hashable, render: Callable[[], str]) -> Markup:
    """HTML that depends only on its key (a counter's details, a published version, the language), rendered
    once per process and kept while it is among the FRAGMENT_CACHE_MAX most recently used."""
    cache: OrderedDict = current_app.extensions.setdefault("page_fragments", OrderedDict())
    with _fragments_lock:  # threaded workers share the cache
        html = cache.get(key)
        if html is not None:
            cache.move_to_end(key)
            return html
    html = Markup(render())  # noqa: S704 - rendered by our own autoescaping templates
    with _fragments_lock:
        cache[key] = html
        while len(cache) > FRAGMENT_CACHE_MAX:
            cache.popitem(last=False)
    return html


def survey_minutes(version: VersionSpec) -> int:
    """An honest estimate of the time the questionnaire takes, for the intro."""
    return max(1, round(version.scale_question_count * SECONDS_PER_QUESTION / 60))
