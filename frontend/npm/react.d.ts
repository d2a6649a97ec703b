// `<otp-verify>` in React 19's JSX: its attributes and its two events as props.
//
// React 19 passes a custom element's props through (ReactDOM's
// setValueForPropertyOnCustomComponent): a prop named `on` + something whose value is a function
// becomes addEventListener(something, fn), with the rest of the name used exactly as written
// (no case change; a trailing `Capture` makes it a capture listener). So the props that hear the
// widget's events are `onotp-verified` and `onotp-error`; `onOtpVerified` would listen for an
// event named "OtpVerified", which never comes, and is therefore not declared (TypeScript refuses
// it). Other props are set as properties when the element has one (`lang`), else as attributes
// (`relay`, `email`, `name`). React 18 and older set every prop as an attribute and never listen:
// there, use a ref and addEventListener.
//
// Load it with `import type {} from "@otp-relay/widget/react"` (erased: the package has no
// JavaScript), or `"types": ["@otp-relay/widget/react"]` in tsconfig.json.

import type { DetailedHTMLProps, HTMLAttributes } from "react";
import type {
  OtpErrorEvent,
  OtpVerifiedEvent,
  OtpVerifyAttributes,
  OtpVerifyElement,
} from "./otp-verify.js";

/** Event-handler props React 19 wires to the element's events with addEventListener. */
export interface OtpVerifyEventProps {
  /** `otp-verified`: `event.detail` has `email`, `proof` and `expires_at`. */
  "onotp-verified"?: (event: OtpVerifiedEvent) => void;
  /** `otp-verified`, heard in the capture phase. */
  "onotp-verifiedCapture"?: (event: OtpVerifiedEvent) => void;
  /** `otp-error`: `event.detail` has `code` and `message`. */
  "onotp-error"?: (event: OtpErrorEvent) => void;
  /** `otp-error`, heard in the capture phase. */
  "onotp-errorCapture"?: (event: OtpErrorEvent) => void;
}

/**
 * The props of `<otp-verify>`: an HTML element's (`id`, `className`, `style`, `ref` to an
 * {@link OtpVerifyElement}, ...), the widget's attributes and its events.
 */
export type OtpVerifyProps = DetailedHTMLProps<HTMLAttributes<OtpVerifyElement>, OtpVerifyElement> &
  OtpVerifyAttributes &
  OtpVerifyEventProps;

declare module "react" {
  namespace JSX {
    interface IntrinsicElements {
      /** The email verification widget (served by the relay at /widget/v1/otp-verify.js). */
      "otp-verify": OtpVerifyProps;
    }
  }
}
