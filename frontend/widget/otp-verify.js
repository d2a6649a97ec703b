// <otp-verify>: email one-time-code verification for any page, in one tag.
//
// The relay serves this module at /widget/v1/otp-verify.js and fills in the names of the build's
// files (the app's JS, wasm and CSS), which it serves beside it under content-hashed names, so a
// cached copy can never pair an old module with a new wasm.
//
//   <script type="module" src="https://verify.example.net/widget/v1/otp-verify.js"></script>
//   <otp-verify email="ada@example.com"></otp-verify>
//
// Attributes: relay (default: this script's origin), email (prefill), name (form mode: inside a
// <form>, a hidden input of that name carries the proof, and the form waits for verification),
// lang (its language; else the page's <html lang>, else the browser's), link (present: the email
// also carries a link back to this page, which confirms with one click; off unless set here or
// in the relay's branding for this site).
// Events on the element, bubbling and composed: otp-verified {email, proof, expires_at},
// otp-error {code, message}. For frameworks: mount(element, {relay, email, name, lang, link}) returns a
// handle with reset() and destroy().

import init, { mountWidget, memoryBytes as wasmMemoryBytes } from "__APP_JS__";

const moduleUrl = new URL(import.meta.url);
const defaultRelay = moduleUrl.origin;
let loading = null;
let sheet = null;

function load() {
  loading ??= Promise.all([
    init({ module_or_path: new URL("__APP_WASM__", moduleUrl) }),
    fetch(new URL("__APP_CSS__", moduleUrl)).then((response) => response.text()).then((css) => {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
    }),
  ]);
  return loading;
}

function emit(element, name, detail) {
  element.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
}

/** Renders the flow into `element`'s shadow root; returns {reset(), destroy()}. */
export async function mount(element, options = {}) {
  await load();
  const root = element.shadowRoot ?? element.attachShadow({ mode: "open" });
  root.adoptedStyleSheets = [sheet];
  const container = document.createElement("div");
  root.replaceChildren(container);

  const form = options.name ? element.closest("form") : null;
  let hidden = null;
  let verified = false;
  let held = false;
  let widget = null;

  const onSubmit = (event) => {
    if (verified) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    held = true;
    widget?.holdSubmission();
    emit(element, "otp-error", {
      code: "not_verified",
      message: "Verify your email address before submitting the form.",
    });
  };
  if (form) {
    hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = options.name;
    form.append(hidden);
    form.addEventListener("submit", onSubmit, true);
  }

  // The widget's language: its own (lang attribute, mount option), else the host page's, else
  // the browser's. The first one the widget speaks wins; English otherwise.
  const languages = [options.lang, document.documentElement.lang, ...(navigator.languages || [])];
  widget = mountWidget(
    container,
    options.relay || defaultRelay,
    options.email || "",
    languages.filter(Boolean).join(","),
    Boolean(options.link),
    (detail) => {
      verified = true;
      if (hidden) hidden.value = detail.proof;
      emit(element, "otp-verified", detail);
      if (held && form) {
        held = false;
        form.requestSubmit();
      }
    },
    (detail) => emit(element, "otp-error", detail),
  );

  return {
    reset() {
      verified = false;
      held = false;
      if (hidden) hidden.value = "";
      widget?.reset();
    },
    destroy() {
      if (!widget) return;
      widget.destroy();
      widget.free();
      widget = null;
      form?.removeEventListener("submit", onSubmit, true);
      hidden?.remove();
      root.replaceChildren();
    },
  };
}

/** Bytes of the shared wasm memory, to check that widgets come and go without growing it. */
export async function memoryBytes() {
  await load();
  return wasmMemoryBytes();
}

class OtpVerifyElement extends HTMLElement {
  static observedAttributes = ["relay", "email", "name", "lang", "link"];
  #mounted = null;

  connectedCallback() {
    this.#remount();
  }

  disconnectedCallback() {
    this.#unmount();
  }

  attributeChangedCallback() {
    if (this.isConnected && this.#mounted) this.#remount();
  }

  /** Back to an empty form. */
  reset() {
    this.#mounted?.then((handle) => handle?.reset());
  }

  #unmount() {
    const mounted = this.#mounted;
    this.#mounted = null;
    mounted?.then((handle) => handle?.destroy());
  }

  #remount() {
    this.#unmount();
    const mounting = mount(this, {
      relay: this.getAttribute("relay") || undefined,
      email: this.getAttribute("email") || undefined,
      name: this.getAttribute("name") || undefined,
      lang: this.getAttribute("lang") || undefined,
      link: this.hasAttribute("link"),
    }).catch((error) => {
      emit(this, "otp-error", { code: "load_failed", message: `The verification widget could not load: ${error}` });
      return null;
    });
    this.#mounted = mounting;
  }
}

if (!customElements.get("otp-verify")) {
  customElements.define("otp-verify", OtpVerifyElement);
}
