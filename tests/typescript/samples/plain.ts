// The widget from plain TypeScript: the element found by tag name is typed without a cast, its
// events carry typed details, and mount() takes typed options and gives a typed handle.

import type {
  OtpErrorCode,
  OtpErrorDetail,
  OtpVerifiedDetail,
  OtpVerifyElement,
  OtpVerifyHandle,
  OtpVerifyMountOptions,
} from "@otp-relay/widget";
import * as fromPackage from "@otp-relay/widget";
// The way a site loads it: from the relay, typed through samples/relay-module.d.ts.
import { memoryBytes, mount } from "https://verify.example.net/widget/v1/otp-verify.js";

// The tag name map gives the element type: no cast.
const found = document.querySelector("otp-verify");
if (found) {
  const element: OtpVerifyElement = found;
  element.addEventListener("otp-verified", function (event) {
    const proof: string = event.detail.proof;
    const email: string = event.detail.email;
    const expires: Date = new Date(event.detail.expires_at);
    const whole: OtpVerifiedDetail = event.detail;
    // In a function listener, `this` is the element.
    this.setAttribute("data-verified", email);
    void fetch("/signup", { method: "POST", body: JSON.stringify({ proof, until: expires, whole }) });
  });
  element.addEventListener("otp-error", (event) => {
    const { code, message }: OtpErrorDetail = event.detail;
    // The code is a closed set: a switch over it is checked.
    switch (code) {
      case "wrong_code":
      case "expired":
        console.info(message);
        break;
      case "unreachable":
      case "load_failed":
        console.warn(message);
        break;
      default: {
        const other: OtpErrorCode = code;
        console.error(other, message);
      }
    }
  });
  // HTMLElement's own events keep their types.
  element.addEventListener("click", (event) => {
    const x: number = event.clientX;
    console.log(x);
  });
  // Any other name still takes a plain listener.
  const onAnything = (event: Event) => console.log(event.type);
  element.addEventListener("something-else", onAnything);
  element.removeEventListener("something-else", onAnything);
  element.reset();
  element.lang = "de";
  element.setAttribute("relay", "https://verify.example.net");
}

// createElement knows the tag too.
const created: OtpVerifyElement = document.createElement("otp-verify");
created.setAttribute("name", "email_proof");

// A listener kept for removal.
const onVerified = (event: CustomEvent<OtpVerifiedDetail>) => console.log(event.detail.proof);
created.addEventListener("otp-verified", onVerified);
created.removeEventListener("otp-verified", onVerified);

async function framework(host: HTMLElement): Promise<void> {
  const options: OtpVerifyMountOptions = {
    relay: "https://verify.example.net",
    email: "ada@example.com",
    name: "email_proof",
    lang: "fr",
    link: true,
  };
  const handle: OtpVerifyHandle = await mount(host, options);
  handle.reset();
  handle.destroy();
  // Options are optional, each of them too.
  const bare = await fromPackage.mount(host);
  bare.destroy();
  const bytes: number = await memoryBytes();
  console.log(bytes);
}

const host = document.getElementById("verify");
if (host) void framework(host);
