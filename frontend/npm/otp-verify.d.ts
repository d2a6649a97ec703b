// Types for the `<otp-verify>` loader module that the relay serves at /widget/v1/otp-verify.js
// (its source: frontend/widget/otp-verify.js). This package carries no JavaScript: the module and
// the build's wasm it imports always come from the relay, so that a loader and its wasm never
// disagree. What is declared here is what that module and the wasm behind it really do; nothing
// more (the element reflects no attribute as a property, so none is declared).

/** Attributes `<otp-verify>` reads (all optional); changing one remounts the widget. */
export interface OtpVerifyAttributes {
  /** The relay's URL, e.g. `https://verify.example.net`. Default: the origin the loader came from. */
  relay?: string;
  /** Prefills the email address field. */
  email?: string;
  /**
   * Form mode: inside a `<form>`, the widget adds a hidden input of this name that carries the
   * proof once verified, and holds the form's submission back until then.
   */
  name?: string;
  /**
   * The widget's language (BCP 47, e.g. `de`); else the page's `<html lang>`, else the browser's
   * languages. English, German, French, Spanish, Portuguese, Japanese and Arabic are spoken.
   */
  lang?: string;
  /**
   * The email also carries a link back to this page (the attribute present, whatever its
   * value): opened, the page asks "Confirm that … is yours" and verifies only on the person's
   * click, and this tab completes too. Off unless set, here or in the relay's branding.
   */
  link?: boolean;
}

/** Options of {@link mount}: the same five settings as the element's attributes. */
export interface OtpVerifyMountOptions extends OtpVerifyAttributes {}

/** A widget mounted by {@link mount}. */
export interface OtpVerifyHandle {
  /** Back to an empty form, as if just mounted; a form-mode proof is cleared too. */
  reset(): void;
  /** Unmounts the widget: its DOM, timers, hidden input and form listener go. Idempotent. */
  destroy(): void;
}

/** `detail` of `otp-verified`: the address is proven. */
export interface OtpVerifiedDetail {
  /** The verified address, as the relay normalised it. */
  email: string;
  /**
   * The proof: a JWT signed with Ed25519 (EdDSA) whose audience is the embedding page's origin.
   * Send it to your backend, which checks it against the relay's `/.well-known/jwks.json`.
   */
  proof: string;
  /** When the proof expires: RFC 3339, UTC (e.g. `2026-11-21T10:10:00Z`). */
  expires_at: string;
}

/** The relay API's error codes (`ErrorCode` in shared/src/error.rs), as the widget forwards them. */
export type OtpApiErrorCode =
  | "invalid_request"
  | "payload_too_large"
  | "unsupported_media_type"
  | "origin_not_allowed"
  | "invalid_email"
  | "invalid_code_format"
  | "invalid_challenge"
  | "wrong_code"
  | "too_many_attempts"
  | "expired"
  | "already_used"
  | "rate_limited"
  | "pow_required"
  | "delivery_failed"
  | "unavailable"
  | "not_found"
  | "method_not_allowed"
  | "internal";

/**
 * `code` of an `otp-error`: an API error code, or one of the widget's own: `unreachable` (the
 * relay did not answer), `not_verified` (a form-mode form was submitted before verification and
 * is held back), `load_failed` (the element could not load the widget's wasm or CSS).
 */
export type OtpErrorCode = OtpApiErrorCode | "unreachable" | "not_verified" | "load_failed";

/** `detail` of `otp-error`. The widget shows the message itself; the event is for the page. */
export interface OtpErrorDetail {
  /** What went wrong, to branch on. */
  code: OtpErrorCode;
  /** For a person, in the widget's language (the relay's sentence for API errors). */
  message: string;
}

/** The `otp-verified` event: bubbles and is composed (crosses shadow roots). */
export type OtpVerifiedEvent = CustomEvent<OtpVerifiedDetail>;

/** The `otp-error` event: bubbles and is composed (crosses shadow roots). */
export type OtpErrorEvent = CustomEvent<OtpErrorDetail>;

/** The events `<otp-verify>` dispatches, by name, beside every event an HTML element has. */
export interface OtpVerifyEventMap extends HTMLElementEventMap {
  /** Verification succeeded: `detail` carries the proof. */
  "otp-verified": OtpVerifiedEvent;
  /** Something failed (the widget says so to the person too). */
  "otp-error": OtpErrorEvent;
}

/**
 * The `<otp-verify>` element. Its settings are attributes (see {@link OtpVerifyAttributes}); only
 * `lang` is also a property, HTMLElement's own.
 */
export interface OtpVerifyElement extends HTMLElement {
  /** Back to an empty form, as if just mounted. */
  reset(): void;

  /** Listens for an `<otp-verify>` event (with its typed `detail`) or any HTML element event. */
  addEventListener<K extends keyof OtpVerifyEventMap>(
    type: K,
    listener: (this: OtpVerifyElement, event: OtpVerifyEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  /** Listens for any other event. */
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions,
  ): void;

  /** Removes a listener added with the typed overload. */
  removeEventListener<K extends keyof OtpVerifyEventMap>(
    type: K,
    listener: (this: OtpVerifyElement, event: OtpVerifyEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  /** Removes any other listener. */
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | EventListenerOptions,
  ): void;
}

/**
 * Renders the widget into `element`'s (open) shadow root, for frameworks that manage their own
 * elements. It dispatches the same events on `element` as `<otp-verify>` does (not
 * `load_failed`: a failed load rejects the promise instead).
 */
export function mount(element: HTMLElement, options?: OtpVerifyMountOptions): Promise<OtpVerifyHandle>;

/** Bytes of the wasm memory all widgets share: a diagnostic, to see mounts come and go without growth. */
export function memoryBytes(): Promise<number>;

declare global {
  /** `document.querySelector("otp-verify")` and `createElement("otp-verify")` give the typed element. */
  interface HTMLElementTagNameMap {
    "otp-verify": OtpVerifyElement;
  }
}
