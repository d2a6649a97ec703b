// Misuses that must NOT compile (tsconfig.misuse.json). Each line marked `// misuse TSnnnn:` must
// draw exactly that error, on that line, and nothing else may fail: check.sh holds the compiler to
// both, so a declaration gone loose (a `detail` typed `any`, say) makes the check fail.

import type { OtpVerifyElement } from "@otp-relay/widget";
import { mount } from "https://verify.example.net/widget/v1/otp-verify.js";

export function listen(element: OtpVerifyElement): void {
  element.addEventListener("otp-verified", (event) => {
    const proof: number = event.detail.proof; // misuse TS2322: the proof is a string (a JWT)
    console.log(proof, event.detail.expiresAt); // misuse TS2551: the field is expires_at
  });
  element.addEventListener("otp-error", (event) => {
    if (event.detail.code === "wrong_cod") return; // misuse TS2367: not an error code
    console.log(event.detail.proof); // misuse TS2339: an error carries code and message only
  });
}

// The events are the element's: HTMLElementEventMap is not widened for every element.
document.body.addEventListener("otp-verified", (event) => console.log(event.detail)); // misuse TS2339: a plain Event there

// Only the element's own type will do, not any element.
export const notTheWidget: OtpVerifyElement = document.createElement("div"); // misuse TS2741: no reset()

export async function framework(host: HTMLElement): Promise<void> {
  await mount(host, { language: "de" }); // misuse TS2353: the option is `lang`
  await mount(host, { relay: new URL("https://verify.example.net") }); // misuse TS2322: a string
  await mount(host, { link: "yes" }); // misuse TS2322: link is on or off
  const handle = await mount(host);
  handle.submit(); // misuse TS2339: a handle has reset() and destroy() only
}
