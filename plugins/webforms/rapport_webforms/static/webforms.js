/*
 * Rapport web forms: the embedding snippet.
 *
 *   <script src="https://crm.example.com/webforms/static/webforms.js"
 *           data-rapport-form="FORM_KEY" data-lang="en" async></script>
 *
 * Draws the form where the tag stands (or into the element named by data-target), inside a
 * Shadow DOM so the site's styles and the form's never meet. Keeps the visit's attribution:
 * UTM parameters of the first visit that had any (localStorage, kept) and of the latest one,
 * the referrer and the landing page of the session. Sends with fetch; when the server says
 * 503 it waits Retry-After seconds and tries again, so a busy moment loses nothing.
 * No framework, no build step.
 */
(function () {
  "use strict";

  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];
  var MAX_RETRIES = 6;
  var CSS =
    ":host{all:initial;display:block;font:16px/1.45 system-ui,sans-serif;color:#1d232b}" +
    "form{max-width:32rem}.f{margin:0 0 .9rem}label{display:block;font-weight:600;margin-bottom:.25rem}" +
    ".c{display:flex;gap:.5rem;align-items:flex-start}.c label{font-weight:400}" +
    "input[type=text],input[type=email],input[type=tel],textarea{width:100%;box-sizing:border-box;" +
    "padding:.55rem .6rem;font:inherit;border:1px solid #9aa4b1;border-radius:.35rem}" +
    "[aria-invalid=true]{border-color:#b3261e}.e{color:#b3261e;margin:.25rem 0 0}" +
    "button{padding:.6rem 1.3rem;font:inherit;font-weight:600;color:#fff;background:#2457c5;" +
    "border:0;border-radius:.35rem;cursor:pointer}button[disabled]{opacity:.6}" +
    ".hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}.s{margin:.6rem 0 0}";

  function store(kind) {
    try { return window[kind]; } catch (e) { return null; }
  }

  function readJSON(storage, name) {
    if (!storage) return null;
    try { return JSON.parse(storage.getItem(name) || "null"); } catch (e) { return null; }
  }

  function writeJSON(storage, name, value) {
    if (!storage) return;
    try { storage.setItem(name, JSON.stringify(value)); } catch (e) { /* private mode */ }
  }

  /* First touch stays forever; last touch is replaced by every visit that carries UTM. */
  function attribution() {
    var local = store("localStorage");
    var session = store("sessionStorage");
    var params = new URLSearchParams(window.location.search);
    var now = {};
    var any = false;
    UTM.forEach(function (key) {
      var value = params.get(key);
      if (value) { now[key] = value.slice(0, 200); any = true; }
    });
    if (any) {
      if (!readJSON(local, "rapport_utm_first")) writeJSON(local, "rapport_utm_first", now);
      writeJSON(local, "rapport_utm_last", now);
    }
    var visit = readJSON(session, "rapport_visit");
    if (!visit) {
      visit = { referrer: document.referrer || "", landing_page: window.location.href };
      writeJSON(session, "rapport_visit", visit);
    }
    return {
      first: readJSON(local, "rapport_utm_first") || (any ? now : {}),
      last: any ? now : (readJSON(local, "rapport_utm_last") || {}),
      referrer: visit.referrer,
      landing_page: visit.landing_page
    };
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (attrs[name] === true) node.setAttribute(name, "");
      else if (attrs[name] !== false && attrs[name] != null) node.setAttribute(name, attrs[name]);
    });
    if (text) node.textContent = text;
    return node;
  }

  function sleep(seconds) {
    return new Promise(function (resolve) { setTimeout(resolve, seconds * 1000); });
  }

  function Form(script) {
    this.key = script.getAttribute("data-rapport-form");
    this.base = new URL(script.src, window.location.href).origin;
    this.lang = (script.getAttribute("data-lang") || document.documentElement.lang || "").slice(0, 2);
    var target = script.getAttribute("data-target");
    var host = (target && document.querySelector(target)) || null;
    if (!host) {
      host = document.createElement("div");
      script.parentNode.insertBefore(host, script.nextSibling);
    }
    host.setAttribute("data-rapport-form-host", this.key);
    this.root = host.attachShadow({ mode: "open" });
    if (this.root.adoptedStyleSheets !== undefined && window.CSSStyleSheet) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      this.root.adoptedStyleSheets = [sheet];
    } else {
      this.root.appendChild(el("style", {}, CSS));
    }
  }

  Form.prototype.url = function (path) {
    return this.base + "/forms/" + encodeURIComponent(this.key) + path;
  };

  Form.prototype.load = function () {
    var self = this;
    var query = self.lang ? "?lang=" + encodeURIComponent(self.lang) : "";
    return fetch(self.url("/config" + query), { credentials: "omit" })
      .then(function (r) { if (!r.ok) throw new Error("config " + r.status); return r.json(); })
      .then(function (config) { self.config = config; self.token = config.token; });
  };

  Form.prototype.render = function () {
    var self = this;
    var config = self.config;
    var form = el("form", { novalidate: true, "aria-label": config.title });
    self.inputs = {};
    config.fields.forEach(function (field) {
      var id = "rf-" + field.key;
      var box = el("div", { "class": field.kind === "consent" ? "f c" : "f" });
      var label = el("label", { "for": id }, field.label + (field.required ? " *" : ""));
      var input;
      if (field.kind === "message") {
        input = el("textarea", { id: id, name: field.key, rows: "4", required: field.required });
      } else if (field.kind === "consent") {
        input = el("input", { id: id, name: field.key, type: "checkbox", required: field.required });
      } else {
        var type = { email: "email", phone: "tel" }[field.kind] || "text";
        var auto = {
          name: "name", email: "email", phone: "tel", company: "organization",
          city: "address-level2", region: "address-level1", country: "country-name"
        }[field.kind] || "off";
        input = el("input", { id: id, name: field.key, type: type, autocomplete: auto, required: field.required });
      }
      if (field.kind === "consent") { box.appendChild(input); box.appendChild(label); }
      else { box.appendChild(label); box.appendChild(input); }
      var error = el("p", { "class": "e", id: id + "-error", hidden: true });
      box.appendChild(error);
      self.inputs[field.key] = { input: input, error: error, kind: field.kind };
      form.appendChild(box);
    });
    var trap = el("div", { "class": "hp", "aria-hidden": "true" });
    self.honeypot = el("input", { name: config.honeypot, type: "text", tabindex: "-1", autocomplete: "off" });
    trap.appendChild(self.honeypot);
    form.appendChild(trap);
    self.button = el("button", { type: "submit" }, config.texts.send);
    form.appendChild(self.button);
    self.status = el("p", { "class": "s", role: "status", "aria-live": "polite" });
    form.appendChild(self.status);
    form.addEventListener("submit", function (event) { event.preventDefault(); self.send(); });
    self.form = form;
    self.root.appendChild(form);
  };

  Form.prototype.values = function () {
    var values = {};
    var inputs = this.inputs;
    Object.keys(inputs).forEach(function (key) {
      var item = inputs[key];
      values[key] = item.kind === "consent" ? (item.input.checked ? "on" : "") : item.input.value;
    });
    if (this.honeypot.value) values[this.config.honeypot] = this.honeypot.value;
    return values;
  };

  Form.prototype.showErrors = function (errors) {
    var inputs = this.inputs;
    Object.keys(inputs).forEach(function (key) {
      var item = inputs[key];
      var message = errors[key];
      item.error.hidden = !message;
      item.error.textContent = message || "";
      if (message) {
        item.input.setAttribute("aria-invalid", "true");
        item.input.setAttribute("aria-describedby", item.error.id);
      } else {
        item.input.removeAttribute("aria-invalid");
      }
    });
    this.status.textContent = errors._form || this.config.texts.check;
  };

  Form.prototype.post = function () {
    return fetch(this.url("/submit"), {
      method: "POST",
      credentials: "omit",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        values: this.values(),
        context: attribution(),
        _t: this.token,
        lang: this.config.language
      })
    });
  };

  Form.prototype.send = function () {
    var self = this;
    var texts = self.config.texts;
    self.button.disabled = true;
    self.status.textContent = texts.sending;
    var attempt = 0;
    var renewed = false;

    function done(response) {
      if (response.status === 201) {
        if (self.config.redirect_url) { window.location.href = self.config.redirect_url; return; }
        self.form.replaceWith(el("p", { "class": "s", role: "status" }, texts.thanks));
        return;
      }
      if (response.status === 503 && attempt < MAX_RETRIES) {
        attempt += 1;
        var wait = parseInt(response.headers.get("Retry-After") || "", 10);
        self.status.textContent = texts.retrying;
        return sleep(isNaN(wait) ? 2 * attempt : Math.min(wait, 60)).then(self.post.bind(self)).then(done);
      }
      return response.json().catch(function () { return {}; }).then(function (body) {
        var errors = body.errors || {};
        if (errors._reason === "expired" && !renewed) {
          renewed = true;  // the page stayed open for a day: get a fresh token, send again
          return self.load().then(self.post.bind(self)).then(done);
        }
        self.button.disabled = false;
        if (response.status === 422 || response.status === 400) self.showErrors(errors);
        else self.status.textContent = texts.failed;
      });
    }

    return self.post().then(done).catch(function () {
      self.button.disabled = false;
      self.status.textContent = texts.failed;
    });
  };

  function start(script) {
    if (script.getAttribute("data-rapport-started")) return;
    script.setAttribute("data-rapport-started", "1");
    attribution();  // record the landing page and UTM even if the form is never sent
    var form = new Form(script);
    form.load().then(function () { form.render(); }).catch(function () {
      form.root.appendChild(el("p", { "class": "e" }, "The form could not be loaded."));
    });
  }

  var scripts = document.querySelectorAll("script[data-rapport-form]");
  Array.prototype.forEach.call(scripts, start);
})();
