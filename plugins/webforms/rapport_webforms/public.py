"""The public side: the form page (plain HTML, also the iframe), the snippet's config, the
intake endpoint and the form-service webhook. No sign-in; every handler declares
``opt={"public": True}`` and defends itself (origin, rate limit, size, honeypot, fill time).
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from litestar import Request, Response, get, post, route
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from rapport.api import (
    InboundRejected,
    RateLimit,
    client_ip,
    database_unavailable,
    gettext,
    read_body,
    settings,
    speaking,
    verify_hmac,
)

from rapport_webforms.definitions import HONEYPOT, LANGUAGES, TOKEN_FIELD, UTM_KEYS, map_values
from rapport_webforms.forms import Form, form_by_key, normalise_origin
from rapport_webforms.intake import accept_submission, clean_context, store_spam
from rapport_webforms.tables import Submission
from rapport_webforms.tokens import check_token, issue_token

log = logging.getLogger(__name__)

PUBLIC = {"public": True, "exclude_from_csrf": True}
BODY_LIMIT = 64 * 1024
RETRY_AFTER_SECONDS = 5
DEFAULT_PER_MINUTE = 30
_per_ip: dict[int, RateLimit] = {}


def per_ip() -> RateLimit:
    """Submissions per address and minute, over all forms: generous for an office behind one
    NAT, hopeless for a flood. ``[webforms] submissions_per_minute`` in rapport.toml."""
    configured = settings().extra.get("webforms")
    limit = DEFAULT_PER_MINUTE
    if isinstance(configured, dict):
        try:
            limit = max(1, int(configured.get("submissions_per_minute", limit)))
        except (TypeError, ValueError):
            limit = DEFAULT_PER_MINUTE
    if limit not in _per_ip:
        _per_ip[limit] = RateLimit("webforms.submit", limit=limit, period=60)
    return _per_ip[limit]


# Per form-service endpoint: services send in bursts, but not thousands a minute.
per_hook = RateLimit("webforms.hook", limit=600, period=60)


# --- helpers --------------------------------------------------


async def _form(key: str) -> Form:
    form = await form_by_key(key)
    if form is None or not form.active:
        raise NotFoundException()
    return form


def own_origin(request: Request) -> str:
    return normalise_origin(str(request.base_url))


def cors_headers(form: Form, request: Request) -> dict[str, str]:
    """CORS headers for a listed origin; none for any other (the browser then refuses)."""
    origin = normalise_origin(request.headers.get("origin", ""))
    if not origin or origin not in form.allowed_origins:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "content-type",
        "Access-Control-Expose-Headers": "Retry-After",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


def _language(form: Form, wanted: str | None) -> str:
    return wanted if wanted in LANGUAGES else form.language


def _json(content: Any, status: int, headers: dict[str, str]) -> Response[Any]:
    return Response(content, status_code=status, headers=headers, media_type="application/json")


def _page_headers(form: Form) -> dict[str, str]:
    """The hosted page may be framed by the listed sites and post only to this instance (and
    redirect to the form's thank-you address)."""
    ancestors = " ".join(["'self'", *form.allowed_origins])
    actions = ["'self'"]
    redirect = normalise_origin(form.redirect_url) if form.redirect_url else ""
    if redirect:
        actions.append(redirect)
    policy = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
        f"frame-ancestors {ancestors}; base-uri 'none'; form-action {' '.join(actions)}; "
        "object-src 'none'"
    )
    return {"content-security-policy": policy, "cache-control": "no-store"}


def _render(
    form: Form,
    language: str,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    embed: bool = False,
    status: int = 200,
) -> Template:
    with speaking(language):
        context = {
            "form": form,
            "fields": [f.public(language) for f in form.fields],
            "values": values or {},
            "errors": errors or {},
            "token": issue_token(form.id),
            "honeypot": HONEYPOT,
            "token_field": TOKEN_FIELD,
            "utm_keys": UTM_KEYS,
            "embed": embed,
            "lang": language,
            "t": {
                "send": gettext("Send"),
                "required": gettext("required"),
                "check": gettext("Please check the marked fields."),
                "leave_empty": gettext("Leave this field empty"),
            },
        }
        error_text = (errors or {}).get("_form")
        context["form_error"] = error_text
    return Template(
        "webforms/public_form.html",
        context=context,
        status_code=status,
        headers=_page_headers(form),
    )


def _thanks(form: Form, language: str, embed: bool) -> Template:
    with speaking(language):
        text = form.thank_you or gettext("Thank you! We will get back to you soon.")
    return Template(
        "webforms/thanks.html",
        context={"form": form, "text": text, "lang": language, "embed": embed},
        status_code=200,
        headers=_page_headers(form),
    )


# --- pages and config --------------------------------------------------


@get("/forms/{key:str}", opt=PUBLIC, include_in_schema=False, name="webforms:page")
async def form_page(
    key: FromPath[str], lang: FromQuery[str | None] = None, embed: FromQuery[int] = 0
) -> Template:
    """The form as a plain HTML page: works without JavaScript; ``?embed=1`` for an iframe."""
    form = await _form(key)
    return _render(form, _language(form, lang), embed=bool(embed))


@get("/forms/{key:str}/config", opt=PUBLIC, include_in_schema=False, name="webforms:config")
async def form_config(
    request: Request, key: FromPath[str], lang: FromQuery[str | None] = None
) -> Response[Any]:
    """What the snippet needs to draw the form: fields, labels, texts and a fill-time token."""
    form = await _form(key)
    headers = cors_headers(form, request)
    if not form.allows_origin(request.headers.get("origin"), own_origin(request)):
        return _json({"detail": "this site may not show the form"}, 403, headers)
    language = _language(form, lang)
    with speaking(language):
        texts = {
            "send": gettext("Send"),
            "sending": gettext("Sending…"),
            "retrying": gettext("The server is busy; trying again…"),
            "failed": gettext("The form could not be sent. Please try again in a minute."),
            "check": gettext("Please check the marked fields."),
            "thanks": form.thank_you or gettext("Thank you! We will get back to you soon."),
        }
    return _json(
        {
            "key": form.key,
            "title": form.title,
            "language": language,
            "fields": [f.public(language) for f in form.fields],
            "token": issue_token(form.id),
            "honeypot": HONEYPOT,
            "redirect_url": form.redirect_url,
            "texts": texts,
        },
        200,
        {**headers, "cache-control": "no-store"},
    )


@route(
    ["/forms/{key:str}/config", "/forms/{key:str}/submit"],
    http_method=["OPTIONS"],
    opt=PUBLIC,
    include_in_schema=False,
    name="webforms:preflight",
)
async def preflight(request: Request, key: FromPath[str]) -> Response[None]:
    form = await _form(key)
    headers = cors_headers(form, request)
    return Response(None, status_code=204 if headers else 403, headers=headers)


# --- the intake --------------------------------------------------


def _wants_json(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("application/json")


def _received(body: bytes, as_json: bool) -> dict[str, Any]:
    """The body as received, for the submission's raw record (honeypot and token included)."""
    if as_json:
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return {"body": body.decode("utf-8", "replace")}
        return data if isinstance(data, dict) else {"body": data}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _parse(body: bytes, as_json: bool) -> tuple[dict[str, Any], dict[str, Any], str, str, str]:
    """values, context, token, honeypot, language — from the snippet's JSON or a plain form."""
    if as_json:
        try:
            data = json.loads(body or b"{}")
        except ValueError as exc:
            raise InboundRejected(detail="the body is not JSON") from exc
        if not isinstance(data, dict):
            raise InboundRejected(detail="the body must be a JSON object")
        values = data.get("values") if isinstance(data.get("values"), dict) else {}
        context = data.get("context") if isinstance(data.get("context"), dict) else {}
        return (
            values,
            context,
            str(data.get(TOKEN_FIELD) or ""),
            str(values.pop(HONEYPOT, "") or data.get(HONEYPOT) or ""),
            str(data.get("lang") or ""),
        )
    pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    values: dict[str, Any] = {}
    for name, value in pairs:
        values[name] = value
    last = {k: values.pop(k) for k in UTM_KEYS if k in values}
    context = {
        "last": last,
        "referrer": values.pop("_referrer", ""),
        "landing_page": values.pop("_landing", ""),
    }
    return (
        values,
        context,
        str(values.pop(TOKEN_FIELD, "")),
        str(values.pop(HONEYPOT, "")),
        str(values.pop("_lang", "")),
    )


def _spam_message(reason: str) -> str:
    if reason == "expired":
        return gettext("This form was open too long: please send it again.")
    if reason == "too_fast":
        return gettext("That was very quick: please check the form and send it again.")
    return gettext("The form could not be accepted. Please reload the page and try again.")


@post("/forms/{key:str}/submit", opt=PUBLIC, include_in_schema=False, name="webforms:submit")
async def submit(
    request: Request, key: FromPath[str], embed: FromQuery[int] = 0
) -> Response[Any] | Template | Redirect:
    """Take a submission: JSON (the snippet) or a plain form post (the page, the iframe)."""
    form = await _form(key)
    headers = cors_headers(form, request)
    as_json = _wants_json(request)
    ip = client_ip(request)
    if not form.allows_origin(request.headers.get("origin"), own_origin(request)):
        return _json({"detail": "this site may not send the form"}, 403, headers)
    try:
        await per_ip().check(ip)
        body = await read_body(request, BODY_LIMIT)
        values, raw_context, token, honeypot, wanted = _parse(body, as_json)
    except InboundRejected as exc:
        return _json({"detail": exc.detail}, exc.status_code, {**headers, **(exc.headers or {})})
    language = _language(form, wanted)
    channel = "snippet" if as_json else ("iframe" if embed else "html")
    context = clean_context(raw_context)
    received = _received(body, as_json)
    raw = {"values": values, "context": raw_context, "received": received}

    def refuse(errors: dict[str, str], status: int) -> Response[Any] | Template:
        if as_json:
            return _json({"errors": errors}, status, headers)
        return _render(
            form,
            language,
            values=values,
            errors=errors,
            embed=bool(embed),
            status=400 if status == 422 else status,
        )

    with speaking(language):
        reason = "honeypot" if honeypot else None
        if reason is None and not (form.accept_untimed and not token):
            reason = check_token(form.id, token, form.min_fill_seconds)
        if reason is not None:
            message = _spam_message(reason)
            if reason != "expired":  # an old tab is a person, not a bot: nothing to count
                try:
                    await store_spam(form, reason, raw, context, channel, ip)
                except Exception as exc:
                    if not database_unavailable(exc):
                        raise
            return refuse({"_form": message, "_reason": reason}, 422)
        mapped = map_values(form.fields, values, language)
        if mapped.errors:
            return refuse(
                {**mapped.errors, "_form": gettext("Please check the marked fields.")}, 422
            )
    try:
        submission_id = await accept_submission(form, mapped, raw, context, channel, ip)
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        log.warning("webforms: database unavailable, submission refused with 503: %s", exc)
        retry = {**headers, "Retry-After": str(RETRY_AFTER_SECONDS)}
        if as_json:
            return _json(
                {"detail": "busy, retry later", "retry_after": RETRY_AFTER_SECONDS}, 503, retry
            )
        with speaking(language):
            page = _render(
                form,
                language,
                values=values,
                embed=bool(embed),
                status=503,
                errors={
                    "_form": gettext(
                        "The server is busy. Please send the form again in a few seconds."
                    )
                },
            )
        page.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return page
    if as_json:
        return _json({"ok": True, "submission_id": submission_id}, 201, headers)
    if form.redirect_url:
        return Redirect(form.redirect_url, status_code=303)
    return _thanks(form, language, bool(embed))


# --- form services --------------------------------------------------


def dotted(data: Any, path: str) -> Any:
    """``form_response.answers.0.email`` → the value there, or None."""
    current = data
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.lstrip("-").isdigit():
            index = int(part)
            current = current[index] if -len(current) <= index < len(current) else None
        else:
            return None
        if current is None:
            return None
    return current


def values_from_payload(form: Form, payload: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A form service's payload through the form's mapping: field values, and attribution
    from any ``utm_*`` names the mapping fills (hidden fields of the service's form)."""
    values: dict[str, Any] = {}
    for name, path in form.hook_mapping.items():
        value = dotted(payload, path)
        if isinstance(value, bool):
            value = "on" if value else ""
        values[name] = "" if value is None else value if isinstance(value, str) else str(value)
    context = clean_context({"last": {k: values.pop(k) for k in UTM_KEYS if k in values}})
    return values, context


def _authentic(form: Form, request: Request, body: bytes) -> bool:
    if form.hook_mode == "hmac":
        return verify_hmac(form.hook_secret, body, request.headers.get(form.hook_header))
    if form.hook_mode == "shared_key":
        given = request.query_params.get("key") or request.headers.get("x-webhook-key") or ""
        return bool(form.hook_secret) and hmac.compare_digest(
            given.encode(), form.hook_secret.encode()
        )
    return False


@post("/forms/{key:str}/hook", opt=PUBLIC, include_in_schema=False, name="webforms:hook")
async def service_hook(request: Request, key: FromPath[str]) -> Response[Any]:
    """A form service's webhook (Typeform, Tilda, a site's backend…): verified, mapped by the
    form's dotted paths, then taken in like any submission."""
    form = await _form(key)
    if form.hook_mode not in ("hmac", "shared_key"):
        raise NotFoundException()
    try:
        await per_hook.check(form.key)
        body = await read_body(request, BODY_LIMIT)
    except InboundRejected as exc:
        return _json({"detail": exc.detail}, exc.status_code, dict(exc.headers or {}))
    if not _authentic(form, request, body):
        return _json({"detail": "the signature or key does not match"}, 401, {})
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            payload: Any = json.loads(body or b"{}")
        except ValueError:
            return _json({"detail": "the body is not JSON"}, 400, {})
    else:
        payload = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    values, context = values_from_payload(form, payload)
    with speaking(form.language):
        mapped = map_values(form.fields, values, form.language)
    ip = client_ip(request)
    raw = {"payload": payload}
    try:
        if mapped.errors:
            await Submission.insert(
                Submission(
                    form_id=form.id,
                    channel="webhook",
                    status="invalid",
                    raw=json.dumps(raw, default=str),
                    mapped=json.dumps(mapped.errors),
                    context=json.dumps(context),
                    ip=ip,
                )
            )
            return _json({"errors": mapped.errors}, 422, {})
        submission_id = await accept_submission(form, mapped, raw, context, "webhook", ip)
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        return _json(
            {"detail": "busy, retry later"}, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}
        )
    # The contact is made a moment later by the worker: the answer names the submission.
    return _json({"ok": True, "submission_id": submission_id, "status": "received"}, 201, {})


def hook_url(request: Request, form: Form) -> str:
    return str(request.base_url).rstrip("/") + f"/forms/{form.key}/hook"


def snippet_origin(request: Request) -> str:
    parts = urlsplit(str(request.base_url))
    return f"{parts.scheme}://{parts.netloc}"


ROUTES = [form_page, form_config, preflight, submit, service_hook]
