// What a site writes once to import the loader straight from its relay, by URL, with the types
// of @otp-relay/widget (the package has no JavaScript: the relay serves it).
declare module "https://verify.example.net/widget/v1/otp-verify.js" {
  export * from "@otp-relay/widget";
}
