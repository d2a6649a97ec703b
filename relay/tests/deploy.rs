//! What ships beside the binary: the systemd unit, checked by systemd's own tools, and the
//! Kubernetes manifests, parsed and checked for what a production Deployment needs. No cluster
//! and no systemd run here: these are the checks that can run on a build machine.

use otp_relay_tests::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// Every `OTP_RELAY_*` variable `serve` and the other commands know, from their help.
fn known_variables() -> BTreeSet<String> {
    let mut known = BTreeSet::new();
    for command in [&["serve", "--help"][..], &["healthcheck", "--help"]] {
        let output = relay_command().args(command).output().unwrap();
        let help = String::from_utf8_lossy(&output.stdout).to_string();
        for part in help.split("[env: ").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            known.insert(name);
        }
    }
    assert!(known.contains("OTP_RELAY_SECRET_FILE"), "{known:?}");
    known
}

/// The unit, with its binary where this build put it, in a folder of its own.
fn unit_here() -> (tempfile::TempDir, PathBuf) {
    let folder = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(repo("ops/systemd/otp-relay.service")).unwrap();
    let binary = relay_binary();
    let unit = unit.replace(
        "ExecStart=/usr/local/bin/otp-relay",
        &format!("ExecStart={}", binary.display()),
    );
    let path = folder.path().join("otp-relay.service");
    std::fs::write(&path, unit).unwrap();
    (folder, path)
}

#[test]
fn the_systemd_unit_verifies_and_is_sandboxed_to_an_exposure_of_at_most_1_5() {
    let (_folder, unit) = unit_here();
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .expect("systemd-analyze (systemd)");
    let said = String::from_utf8_lossy(&verify.stderr).to_string();
    assert!(verify.status.success(), "{said}");
    let about_the_unit: Vec<&str> = said
        .lines()
        .filter(|line| line.contains("otp-relay.service"))
        .collect();
    assert!(about_the_unit.is_empty(), "{said}");

    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&unit)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&security.stdout).to_string();
    let overall = report
        .lines()
        .find(|line| line.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("{report}{}", String::from_utf8_lossy(&security.stderr)));
    let exposure: f64 = overall
        .split(':')
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("{overall}"));
    eprintln!("systemd-analyze security: {}", overall.trim());
    assert!(exposure <= 1.5, "{report}");

    // The environment file names only settings the relay knows, and no secret.
    let known = known_variables();
    let env = std::fs::read_to_string(repo("ops/systemd/otp-relay.env")).unwrap();
    for line in env
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let name = line.split('=').next().unwrap();
        assert!(known.contains(name), "{name} is not a setting");
        assert!(
            ![
                "OTP_RELAY_SECRET",
                "OTP_RELAY_PROOF_KEYS",
                "OTP_RELAY_SMTP_URL",
                "OTP_RELAY_STORE"
            ]
            .contains(&name),
            "{name} belongs in a credential"
        );
    }
    let unit = std::fs::read_to_string(repo("ops/systemd/otp-relay.service")).unwrap();
    for line in unit.lines().filter(|l| l.starts_with("Environment=")) {
        let name = line["Environment=".len()..].split('=').next().unwrap();
        assert!(known.contains(name), "{name} is not a setting");
        assert!(name.ends_with("_FILE"), "{name}: secrets come as files");
    }
}

/// Every manifest of the kustomize base, as JSON.
fn manifests() -> Vec<Value> {
    let script = r#"
import json, sys, yaml
docs = []
for path in sys.argv[1:]:
    with open(path) as f:
        docs.extend(d for d in yaml.safe_load_all(f) if d is not None)
print(json.dumps(docs))
"#;
    let folder = repo("ops/kubernetes");
    let kustomization = folder.join("kustomization.yaml");
    let mut paths = vec![kustomization.clone()];
    let listed = Command::new("python3")
        .args(["-c", script])
        .arg(&kustomization)
        .output()
        .unwrap();
    let base: Vec<Value> = serde_json::from_slice(&listed.stdout).unwrap();
    for resource in base[0]["resources"].as_array().unwrap() {
        paths.push(folder.join(resource.as_str().unwrap()));
    }
    let output = Command::new("python3")
        .args(["-c", script])
        .args(&paths)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn the_kubernetes_manifests_run_hardened_replicas_with_probes_and_secret_files() {
    let docs = manifests();
    let kind = |kind: &str| {
        docs.iter()
            .find(|doc| doc["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind}"))
    };
    let deployment = kind("Deployment");
    let spec = &deployment["spec"];
    assert!(spec["replicas"].as_u64().unwrap() >= 2);
    assert_eq!(spec["strategy"]["rollingUpdate"]["maxUnavailable"], 0);
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert!(pod["securityContext"]["runAsUser"].as_u64().unwrap() > 0);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    // Longer than the drain and a request's deadline together.
    assert!(pod["terminationGracePeriodSeconds"].as_u64().unwrap() >= 5 + 30);
    let container = &pod["containers"][0];
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]));
    for resource in ["cpu", "memory"] {
        assert!(container["resources"]["requests"][resource].is_string());
        assert!(container["resources"]["limits"][resource].is_string());
    }
    for (probe, path) in [
        ("startupProbe", "/livez"),
        ("livenessProbe", "/livez"),
        ("readinessProbe", "/readyz"),
    ] {
        assert_eq!(container[probe]["httpGet"]["path"], path, "{probe}");
    }

    // Settings the relay knows; secrets as files from a mounted Secret, the store's URL too.
    let known = known_variables();
    let mut set = BTreeSet::new();
    for variable in container["env"].as_array().unwrap() {
        let name = variable["name"].as_str().unwrap();
        assert!(known.contains(name), "{name} is not a setting");
        assert!(
            variable.get("valueFrom").is_none(),
            "{name}: secrets are files"
        );
        set.insert(name.to_string());
    }
    for secret in [
        "OTP_RELAY_SECRET_FILE",
        "OTP_RELAY_PROOF_KEYS_FILE",
        "OTP_RELAY_SMTP_URL_FILE",
        "OTP_RELAY_STORE_FILE",
    ] {
        assert!(set.contains(secret), "{secret}");
    }
    let mount = &container["volumeMounts"][0];
    assert_eq!(mount["readOnly"], true);
    let volume = &pod["volumes"][0];
    assert_eq!(volume["name"], mount["name"]);
    assert!(volume["secret"]["secretName"].is_string());
    for variable in container["env"].as_array().unwrap() {
        if variable["name"].as_str().unwrap().ends_with("_FILE") {
            let path = variable["value"].as_str().unwrap();
            assert!(
                path.starts_with(mount["mountPath"].as_str().unwrap()),
                "{path}"
            );
        }
    }

    let service = kind("Service");
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "http");
    let budget = kind("PodDisruptionBudget");
    assert_eq!(budget["spec"]["minAvailable"], 1);
    let selector = &spec["selector"]["matchLabels"];
    assert_eq!(&service["spec"]["selector"], selector);
    assert_eq!(&budget["spec"]["selector"]["matchLabels"], selector);
}
