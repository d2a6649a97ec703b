// The widget in React 19: attributes as props, the events as `onotp-verified` / `onotp-error`
// (the names React 19 listens for on a custom element), and a ref to the typed element.

import { useEffect, useRef, useState } from "react";
import type { OtpVerifiedEvent, OtpVerifyElement } from "@otp-relay/widget";
import type { OtpVerifyProps } from "@otp-relay/widget/react";

export function Signup({ relay }: { relay: string }) {
  const widget = useRef<OtpVerifyElement>(null);
  const [proof, setProof] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    // The ref is the typed element: its reset() and its typed events.
    const element = widget.current;
    if (!element) return;
    const onVerified = (event: OtpVerifiedEvent) => console.log(event.detail.expires_at);
    element.addEventListener("otp-verified", onVerified);
    return () => element.removeEventListener("otp-verified", onVerified);
  }, []);

  return (
    <form>
      <otp-verify
        ref={widget}
        relay={relay}
        email="ada@example.com"
        name="email_proof"
        lang="de"
        link
        className="verify"
        style={{ maxWidth: "30rem" }}
        onotp-verified={(event) => {
          const value: string = event.detail.proof;
          setProof(value);
        }}
        onotp-error={(event) => setProblem(`${event.detail.code}: ${event.detail.message}`)}
      />
      <button type="button" onClick={() => widget.current?.reset()} disabled={proof === null}>
        Start over
      </button>
      {problem && <p role="alert">{problem}</p>}
    </form>
  );
}

// The props type, for wrappers.
export function Wrapped(props: OtpVerifyProps) {
  return <otp-verify {...props} />;
}

// Only the attributes a site needs.
export const Minimal = () => <otp-verify />;
