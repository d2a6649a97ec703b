#!/usr/bin/env bash
# Type-checks the widget's TypeScript declarations (frontend/npm, linked here as
# @otp-relay/widget) with the pinned compiler (package-lock.json; installed by
# `scripts/ensure-tools.sh test`, or `npm ci --prefix tests/typescript`):
#   1. the samples (plain TypeScript and React 19) compile, strictly, under bundler and under
#      Node's resolution;
#   2. the misuses do not: every line marked `// misuse TSnnnn:` draws exactly that error and no
#      other error appears, so a refusal for another reason (a missing file, a broken import)
#      does not pass for the expected one, and a declaration gone loose fails the check;
#   3. the package as npm would pack it carries every file its package.json points to.
# Prints what it checked; exits non-zero on any deviation.
set -euo pipefail
cd "$(dirname "$0")"

tsc=node_modules/.bin/tsc
if [ ! -x "$tsc" ] || [ ! -e node_modules/@otp-relay/widget/package.json ]; then
    echo "check.sh: the compiler or the linked package is missing: run" \
        "'npm ci --prefix tests/typescript' (or scripts/ensure-tools.sh test)" >&2
    exit 1
fi
# The compiler and types package.json pins, not whatever an older install left behind.
for package in typescript @types/react; do
    pinned=$(node -p "require('./package.json').devDependencies['$package']")
    installed=$(node -p "require('./node_modules/$package/package.json').version")
    if [ "$pinned" != "$installed" ]; then
        echo "check.sh: $package $installed is installed, package.json pins $pinned: run" \
            "'npm ci --prefix tests/typescript'" >&2
        exit 1
    fi
done
echo "check.sh: tsc $("$tsc" --version | sed 's/^Version //'), @types/react $installed"

failed=0
fail() {
    echo "FAIL: $*"
    failed=1
}

# 1. What must compile.
for config in tsconfig.json tsconfig.nodenext.json; do
    if output=$("$tsc" --strict --noEmit --pretty false -p "$config" 2>&1); then
        # Which of our files it took in: the samples and the declarations under test.
        ours=$("$tsc" --strict --noEmit -p "$config" --listFilesOnly |
            sed -n 's#.*/tests/typescript/##p' | grep -E '^(samples|node_modules/@otp-relay)/' |
            paste -sd' ' || true)
        echo "ok: $config compiles: $ours"
    else
        fail "$config does not compile:"
        echo "$output"
    fi
done

# 2. What must not.
misuse_config=tsconfig.misuse.json
misuse_files=(samples/misuse.ts samples/misuse-react.tsx)
declare -A expected=() why=()
for file in "${misuse_files[@]}"; do
    if [ ! -f "$file" ]; then
        fail "$file is missing"
        continue
    fi
    while IFS= read -r hit; do
        line=${hit%%:*}
        code=$(sed -n 's#.*// misuse \(TS[0-9]*\):.*#\1#p' <<<"$hit")
        expected["$file:$line $code"]=1
        why["$file:$line $code"]=$(sed -n 's#.*// misuse TS[0-9]*: *##p' <<<"$hit")
    done < <(grep -n '// misuse TS[0-9]*:' "$file")
done
if [ ${#expected[@]} -eq 0 ]; then
    fail "no '// misuse TSnnnn:' lines found in ${misuse_files[*]}"
fi

status=0
output=$("$tsc" --strict --noEmit --pretty false -p "$misuse_config" 2>&1) || status=$?
if [ "$status" -eq 0 ]; then
    fail "$misuse_config compiled, but every misuse in it must be refused"
fi
declare -A found=()
while IFS= read -r message; do
    # The indented lines elaborate on the error above them.
    case "$message" in "" | " "*) continue ;; esac
    if [[ $message =~ ^(samples/[^\(]+)\(([0-9]+),[0-9]+\):\ error\ (TS[0-9]+): ]]; then
        key="${BASH_REMATCH[1]}:${BASH_REMATCH[2]} ${BASH_REMATCH[3]}"
        if [ -n "${expected[$key]:-}" ]; then
            found["$key"]=1
            continue
        fi
    fi
    fail "unexpected error from $misuse_config (not a marked misuse): $message"
done <<<"$output"
while IFS= read -r key; do
    [ -n "$key" ] || continue
    if [ -n "${found[$key]:-}" ]; then
        echo "ok: refused ${key/ / with } (${why[$key]})"
    else
        fail "${key%% *} was not refused with ${key##* } (${why[$key]}): does it compile now?"
    fi
done < <(printf '%s\n' "${!expected[@]}" | sort -t: -k1,1 -k2,2n)

# 3. The package as it would be packed.
if packed=$(cd ../../frontend/npm && npm pack --dry-run --json 2>/dev/null); then
    if listed=$(PACKED="$packed" node -e '
        const pkg = require("../../frontend/npm/package.json");
        const files = new Set(JSON.parse(process.env.PACKED)[0].files.map((f) => f.path));
        const wanted = [pkg.types, ...Object.values(pkg.exports).map((e) => e.types), "README.md"];
        const gone = wanted.map((p) => p.replace(/^\.\//, "")).filter((p) => !files.has(p));
        if (gone.length) { console.log(gone.join(", ")); process.exit(1); }
        console.log([...files].sort().join(", "));
    '); then
        echo "ok: npm pack of frontend/npm carries $listed"
    else
        fail "npm pack of frontend/npm lacks $listed"
    fi
else
    fail "npm pack --dry-run failed in frontend/npm (run it there to see why)"
fi

if [ "$failed" -ne 0 ]; then
    echo "check.sh: FAILED"
    exit 1
fi
echo "check.sh: all checks passed"
