// Misuses in React 19's JSX that must NOT compile (tsconfig.misuse.json), marked as in misuse.ts.

import { useRef } from "react";
import type {} from "@otp-relay/widget/react";

export const wrongType = <otp-verify relay={42} />; // misuse TS2322: attributes are strings
export const camelCase = <otp-verify onOtpVerified={() => {}} />; // misuse TS2322: React 19 would listen for "OtpVerified"
export const wrongDetail = <otp-verify onotp-verified={(event) => event.detail.proof.toFixed()} />; // misuse TS2551: the proof is a string
export const wrongEvent = <otp-verify onotp-error={(event) => event.detail.expires_at} />; // misuse TS2339: an error has no expires_at

export function WrongRef() {
  const input = useRef<HTMLInputElement>(null);
  return <otp-verify ref={input} />; // misuse TS2322: the ref is to an OtpVerifyElement
}
