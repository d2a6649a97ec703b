//! Cost of the relay's per-request work: signing and checking a challenge token, deriving a
//! code, the in-memory store's atomic operations and a request's plan over them. `make bench` runs it.

// Benchmark set-up works on constants; a failure there is a bug in the benchmark itself.
#![allow(clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use otp_relay::core::code::derive_code;
use otp_relay::core::keys::{KeyRing, random_secret};
use otp_relay::core::store::memory::MemorySettings;
use otp_relay::core::store::plan::interpret;
use otp_relay::core::store::{Entries, Plan, Step};
use otp_relay::core::token::{Challenge, address_tag, site_tag};
use otp_relay::core::{MemoryStore, Policy, StoreKey, SystemClock};
use otp_relay_shared::EmailAddress;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

fn tokens_and_codes(c: &mut Criterion) {
    let ring = KeyRing::parse(&format!("k1:{},k0:{}", random_secret(), random_secret()))
        .expect("key ring");
    let email = EmailAddress::parse("ada@example.com").expect("address");
    let challenge = Challenge {
        kid: "k1".into(),
        epoch: 1,
        issued_at: otp_relay::core::UnixTime::from_secs(1_800_000_000),
        expires_at: otp_relay::core::UnixTime::from_secs(1_800_000_300),
        nonce: [7; 16],
        address_tag: address_tag(ring.signing(), &email),
        site_tag: site_tag(ring.signing(), None),
        link: None,
    };
    let token = challenge.encode(ring.signing());

    c.bench_function("email parse", |b| {
        b.iter(|| EmailAddress::parse(black_box("  Ada.Lovelace+otp@Example.co.uk ")))
    });
    c.bench_function("token encode", |b| {
        b.iter(|| black_box(&challenge).encode(ring.signing()))
    });
    c.bench_function("token decode and bind", |b| {
        b.iter(|| Challenge::decode_for(black_box(&token), &email, None, &ring))
    });
    c.bench_function("code derive", |b| {
        b.iter(|| derive_code(ring.signing(), black_box(&challenge.nonce), 6))
    });
}

fn store(c: &mut Criterion) {
    let store = MemoryStore::new(
        MemorySettings {
            capacity: 1_000_000,
            ..MemorySettings::for_policy(&Policy::default())
        },
        Arc::new(SystemClock),
    );
    let window = Duration::from_secs(300);
    let attempts = StoreKey::Attempts([0x01; 16]);
    c.bench_function("memory store increment", |b| {
        b.iter(|| store.increment(black_box(&attempts), window))
    });
    let mut client = 0u64;
    c.bench_function("memory store send limit (new client, sketch)", |b| {
        b.iter(|| {
            client += 1;
            store.increment(&StoreKey::ClientSends(client.to_string()), window)
        })
    });
    let mut n = 0u128;
    c.bench_function("memory store claim (new key)", |b| {
        b.iter(|| {
            n += 1;
            store.claim(&StoreKey::Used(n.to_be_bytes()), window)
        })
    });
    // A wrong-code verify's plan: the used mark, the attempt, both failure budgets.
    let mut challenge = 0u128;
    let mailbox = [0x02; 16];
    c.bench_function("memory store wrong-code plan (new challenge)", |b| {
        b.iter(|| {
            challenge += 1;
            let id = challenge.to_be_bytes();
            let count = |key: StoreKey, limit: u64| Step::Count {
                key,
                window,
                limit: Some(limit),
                kept: false,
            };
            let plan = Plan {
                steps: vec![
                    Step::Unset(StoreKey::Used(id)),
                    count(StoreKey::Attempts(id), 3),
                    count(StoreKey::NetworkAddressFailures(mailbox), u64::MAX),
                    count(StoreKey::AddressFailures(mailbox), u64::MAX),
                ],
            };
            interpret(&store, black_box(&plan))
        })
    });
}

/// The proof of work: what a client pays (SHA-256 tries, natively, on one core) and what the
/// relay's check of a solution costs (a MAC, a hash, the salt's parameters).
fn proof_of_work(c: &mut Criterion) {
    use otp_relay::core::pow;
    use otp_relay_shared::pow::{Progress, Solver, solve};
    let ring = KeyRing::parse(&format!("k1:{}", random_secret())).expect("key ring");
    let ip = "192.0.2.7".parse().expect("address");
    let now = otp_relay::core::UnixTime::from_secs(1_800_000_000);
    let challenge = pow::issue(&ring, ip, 100_000, now, Duration::from_secs(600));
    let solution = challenge.solution(solve(&challenge).expect("it solves"));

    let mut group = c.benchmark_group("proof of work");
    const TRIES: u64 = 10_000;
    group.throughput(criterion::Throughput::Elements(TRIES));
    // Numbers that are not the answer: a challenge for a number beyond those tried.
    let unsolvable = pow::issue(
        &ring,
        ip,
        u64::from(u32::MAX),
        now,
        Duration::from_secs(600),
    );
    group.bench_function("solve: SHA-256 tries", |b| {
        b.iter(|| {
            let mut solver = Solver::new(black_box(&unsolvable)).expect("a solver");
            let progress = solver.run(TRIES);
            black_box(progress == Progress::Found(0))
        })
    });
    group.finish();
    c.bench_function("proof of work: check a solution", |b| {
        b.iter(|| pow::check(&ring, black_box(&solution), ip, now))
    });
}

criterion_group!(benches, tokens_and_codes, store, proof_of_work);
criterion_main!(benches);
