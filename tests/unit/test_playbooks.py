"""The shipped playbooks on short, realistic log snippets (written for these tests, not taken from the
fixture corpus), the precedence between rules, and playbook-file validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.diagnosis.calibration import calibrate
from domain.diagnosis.engine import diagnose
from domain.diagnosis.playbooks import PlaybookError, default_playbooks, load_playbooks, parse_playbook
from domain.diagnosis.prefilter import derive_keywords
from domain.diagnosis.verdict import Category, Diagnosis, FixAction, Source

DEP, ENV, FLAKY = Category.DEPENDENCY, Category.ENVIRONMENT, Category.FLAKY_TEST
RES, INFRA, CODE = Category.RESOURCE, Category.INFRASTRUCTURE, Category.CODE


def diag(text: str) -> Diagnosis:
    return diagnose(text.strip("\n").splitlines())[0]


# (id, log, category, action, playbook rule or None, expected params subset)
SNIPPETS: list[tuple[str, str, Category, FixAction, str | None, dict[str, str]]] = [
    # --- dependency
    ("pip-yaml", "ModuleNotFoundError: No module named 'yaml'", DEP, FixAction.ADD_DEPENDENCY,
     "dep.python-missing-module", {"module": "yaml", "distribution": "PyYAML"}),
    ("pip-cv2", "E   ModuleNotFoundError: No module named 'cv2'", DEP, FixAction.ADD_DEPENDENCY,
     "dep.python-missing-module", {"module": "cv2", "distribution": "opencv-python"}),
    ("pip-dotted", "ModuleNotFoundError: No module named 'google.protobuf'", DEP, FixAction.ADD_DEPENDENCY,
     "dep.python-missing-module", {"distribution": "protobuf"}),
    ("py2-import", "ImportError: No module named dateutil.parser", DEP, FixAction.ADD_DEPENDENCY,
     "dep.python-missing-module", {"module": "dateutil.parser", "distribution": "python-dateutil"}),
    ("pip-no-version", """
Collecting torch==1.4.0
ERROR: Could not find a version that satisfies the requirement torch==1.4.0 (from versions: 1.13.1, 2.0.0)
ERROR: No matching distribution found for torch==1.4.0
""", DEP, FixAction.PIN_OR_BUMP_DEPENDENCY, "dep.python-no-version", {"package": "torch==1.4.0"}),
    ("pip-conflict", """
ERROR: Cannot install -r requirements.txt (line 3) and urllib3==2.0.0 because these package versions have conflicting dependencies.
ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/
""", DEP, FixAction.PIN_OR_BUMP_DEPENDENCY, "dep.python-conflict", {}),
    ("poetry", "Because app depends on both pydantic (^1.10) and fastapi (0.110.0) which depends on pydantic (>=2), version solving failed.",
     DEP, FixAction.PIN_OR_BUMP_DEPENDENCY, "dep.python-conflict", {}),
    ("npm-404", """
npm ERR! code E404
npm ERR! 404 Not Found - GET https://registry.npmjs.org/left-padd - Not found
npm ERR! 404  'left-padd@^1.3.0' is not in this registry.
""", DEP, FixAction.HUMAN, "dep.npm-not-found", {}),
    ("npm-etarget", """
npm ERR! code ETARGET
npm ERR! notarget No matching version found for react@^99.0.0.
""", DEP, FixAction.PIN_OR_BUMP_DEPENDENCY, "dep.js-no-version", {}),
    ("yarn-no-version", 'error Couldn\'t find any versions for "lodash" that matches "^9.9.9"', DEP,
     FixAction.PIN_OR_BUMP_DEPENDENCY, "dep.js-no-version", {"name": "lodash"}),
    ("npm-ci-lock", "npm ERR! `npm ci` can only install packages when your package.json and package-lock.json or npm-shrinkwrap.json are in sync. Please update your lock file with `npm install` before continuing.",
     DEP, FixAction.PIN_OR_BUMP_DEPENDENCY, "dep.lockfile", {}),
    ("pnpm-lock", ' ERR_PNPM_OUTDATED_LOCKFILE  Cannot install with "frozen-lockfile" because pnpm-lock.yaml is not up to date with package.json',
     DEP, FixAction.PIN_OR_BUMP_DEPENDENCY, "dep.lockfile", {}),
    ("eresolve", """
npm ERR! code ERESOLVE
npm ERR! ERESOLVE unable to resolve dependency tree
npm ERR! While resolving: web@1.0.0
""", DEP, FixAction.PIN_OR_BUMP_DEPENDENCY, "dep.npm-eresolve", {}),
    ("maven-missing", "[ERROR] Failed to execute goal on project api: Could not resolve dependencies for project com.acme:api:jar:1.0-SNAPSHOT: Could not find artifact com.acme:core:jar:2.3.1 in central (https://repo.maven.apache.org/maven2) -> [Help 1]",
     DEP, FixAction.PIN_OR_BUMP_DEPENDENCY, "dep.maven", {}),
    ("gradle-missing", """
* What went wrong:
Execution failed for task ':app:compileDebugKotlin'.
> Could not resolve all files for configuration ':app:debugCompileClasspath'.
   > Could not find com.squareup.okhttp3:okhttp:9.9.9.
""", DEP, FixAction.PIN_OR_BUMP_DEPENDENCY, "dep.gradle", {}),
    ("cargo", 'error: failed to select a version for the requirement `serde = "^9.0"`', DEP,
     FixAction.PIN_OR_BUMP_DEPENDENCY, "dep.cargo", {"crate": 'serde = "^9.0"'}),
    ("go-revision", "go: github.com/acme/lib@v1.9.9: invalid version: unknown revision v1.9.9", DEP,
     FixAction.PIN_OR_BUMP_DEPENDENCY, "dep.go-modules", {}),
    ("go-missing", "main.go:5:2: no required module provides package github.com/pkg/errors; to add it:", DEP,
     FixAction.ADD_DEPENDENCY, "dep.go-missing", {"package": "github.com/pkg/errors"}),
    ("bundler", 'Bundler could not find compatible versions for gem "rails":', DEP,
     FixAction.PIN_OR_BUMP_DEPENDENCY, "dep.bundler", {}),
    ("composer", "  Your requirements could not be resolved to an installable set of packages.", DEP,
     FixAction.PIN_OR_BUMP_DEPENDENCY, "dep.composer", {}),
    ("r-missing", "Error in library(dplyr) : there is no package called \u2018dplyr\u2019", DEP,
     FixAction.ADD_DEPENDENCY, "dep.r-package", {"missing": "dplyr"}),
    ("ts-missing-package", "src/api.ts(1,23): error TS2307: Cannot find module 'axios' or its corresponding type declarations.",
     DEP, FixAction.ADD_DEPENDENCY, "dep.ts-missing-module", {"package": "axios"}),
    # --- environment
    ("keyerror-env", """
Traceback (most recent call last):
  File "/app/settings.py", line 12, in <module>
    DATABASE_URL = os.environ["DATABASE_URL"]
  File "/usr/lib/python3.11/os.py", line 679, in __getitem__
    raise KeyError(key) from None
KeyError: 'DATABASE_URL'
""", ENV, FixAction.SET_ENV_DEFAULT, "env.keyerror-environ", {"name": "DATABASE_URL"}),
    ("unbound", "./scripts/deploy.sh: line 14: AWS_REGION: unbound variable", ENV, FixAction.SET_ENV_DEFAULT,
     "env.unbound-variable", {"name": "AWS_REGION"}),
    ("env-not-set", "Error: environment variable API_BASE_URL is not set", ENV, FixAction.SET_ENV_DEFAULT,
     "env.variable-not-set", {"name": "API_BASE_URL"}),
    ("env-missing", "Error: Missing required environment variable: SENTRY_DSN", ENV, FixAction.SET_ENV_DEFAULT,
     "env.variable-missing", {"name": "SENTRY_DSN"}),
    ("action-input", "##[error]Input required and not supplied: github-token", ENV, FixAction.SET_ENV_DEFAULT,
     "env.action-input", {"name": "github-token"}),
    ("command-not-found", "/home/runner/work/_temp/5e1f.sh: line 1: pnpm: command not found", ENV,
     FixAction.FIX_CONFIG, "env.command-not-found", {"command": "pnpm"}),
    ("windows-not-recognized", "'yarn' is not recognized as an internal or external command,", ENV,
     FixAction.FIX_CONFIG, "env.command-not-found", {"windows": "yarn"}),
    ("gradlew-permission", "bash: ./gradlew: Permission denied", ENV, FixAction.FIX_CONFIG, "env.script-path", {}),
    ("node-engine", 'error @angular/core@17.0.0: The engine "node" is incompatible with this module. Expected version ">=18.13.0". Got "16.20.2"',
     ENV, FixAction.FIX_CONFIG, "env.tool-version", {"engine": "node"}),
    ("python-requires", "ERROR: Package 'mylib' requires a different Python: 3.7.17 not in '>=3.8'", ENV,
     FixAction.FIX_CONFIG, "env.tool-version", {}),
    ("workflow-invalid", "Invalid workflow file: .github/workflows/ci.yml#L12", ENV, FixAction.FIX_CONFIG,
     "env.ci-config", {}),
    ("gitlab-config", "jobs config should contain at least one visible job", ENV, FixAction.FIX_CONFIG,
     "env.ci-config", {}),
    ("docker-daemon", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
     ENV, FixAction.FIX_CONFIG, "env.docker-daemon", {}),
    ("git-push-403", """
remote: Permission to acme/app.git denied to github-actions[bot].
fatal: unable to access 'https://github.com/acme/app.git/': The requested URL returned error: 403
""", ENV, FixAction.FIX_CONFIG, "env.auth-failed", {}),
    ("npm-401", """
npm ERR! code E401
npm ERR! 401 Unauthorized - GET https://npm.pkg.github.com/@acme%2fui - authentication token not provided
""", ENV, FixAction.FIX_CONFIG, "env.auth-failed", {}),
    ("cert", "requests.exceptions.SSLError: HTTPSConnectionPool(host='pypi.org', port=443): Max retries exceeded with url: /simple/ (Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)')))",
     ENV, FixAction.FIX_CONFIG, "env.certificate", {}),
    ("inotify", "Error: ENOSPC: System limit for number of file watchers reached, watch '/app/src'", ENV,
     FixAction.FIX_CONFIG, "env.inotify", {}),
    ("missing-header", "src/crypto.c:3:10: fatal error: openssl/ssl.h: No such file or directory", ENV,
     FixAction.HUMAN, "env.missing-header", {"header": "openssl/ssl.h"}),
    # --- flaky tests
    ("pytest-timeout", "FAILED tests/test_sync.py::test_sync_large - Failed: Timeout >60.0s", FLAKY,
     FixAction.INCREASE_TIMEOUT, "flaky.test-timeout", {}),
    ("jest-timeout", '    thrown: "Exceeded timeout of 5000 ms for a test.', FLAKY, FixAction.INCREASE_TIMEOUT,
     "flaky.test-timeout", {}),
    ("mocha-timeout", '     Error: Timeout of 2000ms exceeded. For async tests and hooks, ensure "done()" is called',
     FLAKY, FixAction.INCREASE_TIMEOUT, "flaky.test-timeout", {}),
    ("go-timeout", "panic: test timed out after 10m0s", FLAKY, FixAction.INCREASE_TIMEOUT, "flaky.test-timeout", {}),
    ("playwright-timeout", "  1) [chromium] \u203a login.spec.ts:12:5 \u203a signs in\n    Test timeout of 30000ms exceeded.", FLAKY,
     FixAction.INCREASE_TIMEOUT, "flaky.test-timeout", {}),
    ("common-test-timetrap", "*** FAILED {cluster_SUITE,join_nodes} ***\n{timetrap_timeout,30000}", FLAKY,
     FixAction.INCREASE_TIMEOUT, "flaky.test-timeout", {}),
    ("ctest-timeout", "  7/12 Test  #7: io_roundtrip ......................***Timeout  60.02 sec", FLAKY,
     FixAction.INCREASE_TIMEOUT, "flaky.test-timeout", {}),
    ("cypress-timeout", "  AssertionError: Timed out retrying after 4000ms: Expected to find element: `#save`, but never found it.",
     FLAKY, FixAction.INCREASE_TIMEOUT, "flaky.test-timeout", {}),
    ("job-timeout", "##[error]The job running on runner GitHub Actions 4 has exceeded the maximum execution time of 60 minutes.",
     FLAKY, FixAction.INCREASE_TIMEOUT, "flaky.job-timeout", {}),
    ("travis-stall", "No output has been received in the last 10m0s, this potentially indicates a stalled build or something wrong with the build itself.",
     FLAKY, FixAction.INCREASE_TIMEOUT, "flaky.job-timeout", {}),
    ("addr-in-use", "OSError: [Errno 98] Address already in use", FLAKY, FixAction.RETRY, "flaky.address-in-use", {}),
    ("eaddrinuse", "Error: listen EADDRINUSE: address already in use :::3000", FLAKY, FixAction.RETRY,
     "flaky.address-in-use", {}),
    ("data-race", "WARNING: DATA RACE", FLAKY, FixAction.RETRY, "flaky.race", {}),
    ("bazel-flaky", "//src/server:server_test    FLAKY, failed in 1 out of 2 in 12.3s", FLAKY, FixAction.QUARANTINE,
     "flaky.marker", {}),
    # --- resource
    ("node-oom", "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory", RES,
     FixAction.INCREASE_MEMORY, "resource.node-heap", {}),
    ("gcc-killed", "c++: fatal error: Killed signal terminated program cc1plus", RES, FixAction.INCREASE_MEMORY,
     "resource.sigkill", {}),
    ("exit-137", "##[error]Process completed with exit code 137.", RES, FixAction.INCREASE_MEMORY, "resource.sigkill", {}),
    ("docker-killed", """
Step 5/9 : RUN npm run build
Killed
The command '/bin/sh -c npm run build' returned a non-zero code: 137
""", RES, FixAction.INCREASE_MEMORY, "resource.sigkill", {}),
    ("java-oom", 'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space', RES,
     FixAction.INCREASE_MEMORY, "resource.java-heap", {}),
    ("python-memoryerror", "E   MemoryError", RES, FixAction.INCREASE_MEMORY, "resource.allocation", {}),
    ("oomkilled", "Last State: Terminated  Reason: OOMKilled  Exit Code: 137", RES, FixAction.INCREASE_MEMORY,
     "resource.oom-killer", {}),
    ("docker-disk", "write /var/lib/docker/tmp/GetImageBlob123: no space left on device", RES, FixAction.FREE_DISK,
     "resource.disk-full", {}),
    ("enospc", "Error: ENOSPC: no space left on device, write", RES, FixAction.FREE_DISK, "resource.disk-full", {}),
    # --- infrastructure
    ("git-dns", "fatal: unable to access 'https://github.com/acme/app.git/': Could not resolve host: github.com",
     INFRA, FixAction.RETRY, "infra.dns", {}),
    ("curl-dns", "curl: (6) Could not resolve host: deb.nodesource.com", INFRA, FixAction.RETRY, "infra.dns", {}),
    ("apt-404", "E: Failed to fetch http://archive.ubuntu.com/ubuntu/pool/main/o/openssl/libssl-dev_3.0.2-0ubuntu1.10_amd64.deb  404  Not Found [IP: 185.125.190.36 80]",
     INFRA, FixAction.RETRY, "infra.apt-fetch", {}),
    ("npm-eai-again", "npm ERR! network request to https://registry.npmjs.org/react failed, reason: getaddrinfo EAI_AGAIN registry.npmjs.org",
     INFRA, FixAction.RETRY, None, {}),
    ("yarn-socket", 'error An unexpected error occurred: "https://registry.yarnpkg.com/react/-/react-18.2.0.tgz: ESOCKETTIMEDOUT".',
     INFRA, FixAction.RETRY, "infra.connection", {}),
    ("docker-503", "error pulling image configuration: received unexpected HTTP status: 503 Service Unavailable",
     INFRA, FixAction.RETRY, None, {}),
    ("docker-rate", "Error response from daemon: toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit",
     INFRA, FixAction.RETRY, "infra.rate-limit", {}),
    ("gh-rate", "Error: API rate limit exceeded for installation ID 1234567.", INFRA, FixAction.RETRY,
     "infra.rate-limit", {}),
    ("runner-lost", "The hosted runner: GitHub Actions 12 lost communication with the server. Anything in your workflow that terminates the runner process, starves it for CPU/Memory, or blocks its network access can cause this error.",
     INFRA, FixAction.RETRY, "infra.runner-lost", {}),
    ("jenkins-channel", """
FATAL: command execution failed
java.io.IOException: Backing channel 'agent-7' is disconnected.
""", INFRA, FixAction.RETRY, "infra.runner-lost", {}),
    ("gitlab-system", "ERROR: Job failed (system failure): prepare environment: waiting for pod running: timed out waiting for pod to start",
     INFRA, FixAction.RETRY, None, {}),
    ("docker-tls", 'Error response from daemon: Get "https://registry-1.docker.io/v2/": net/http: TLS handshake timeout',
     INFRA, FixAction.RETRY, None, {}),
    # --- code (always a human, never automated)
    ("rustc", "error[E0308]: mismatched types", CODE, FixAction.HUMAN, "code.rust", {}),
    ("javac", "src/main/java/com/acme/App.java:10: error: cannot find symbol", CODE, FixAction.HUMAN, None, {}),
    ("tsc", "src/index.ts(3,21): error TS2339: Property 'foo' does not exist on type 'Bar'.", CODE, FixAction.HUMAN,
     "code.typescript", {}),
    ("go-undefined", "./main.go:12:2: undefined: fooBar", CODE, FixAction.HUMAN, "code.go", {}),
    ("gcc", "src/main.c:10:5: error: expected ';' before 'return'", CODE, FixAction.HUMAN, "code.c-family", {}),
    ("msvc", r"C:\src\app\main.cpp(42): error C2065: 'foo': undeclared identifier", CODE, FixAction.HUMAN,
     "code.c-family", {}),
    ("python-syntax", """
  File "app.py", line 3
    def f(:
          ^
SyntaxError: invalid syntax
""", CODE, FixAction.HUMAN, "code.python-syntax", {}),
    ("eslint", """
/home/runner/work/app/src/App.js
  12:7  error  'foo' is assigned a value but never used  no-unused-vars

✖ 1 problem (1 error, 0 warnings)
""", CODE, FixAction.HUMAN, "code.lint-js", {}),
    ("flake8", "app/models.py:3:1: F401 'os' imported but unused", CODE, FixAction.HUMAN, "code.lint-python-ruby", {}),
    ("rubocop", "app/models/user.rb:5:3: C: Style/StringLiterals: Prefer single-quoted strings", CODE, FixAction.HUMAN,
     "code.lint-python-ruby", {}),
    ("mypy", """
app/api.py:42: error: Incompatible return value type (got "int", expected "str")  [return-value]
Found 1 error in 1 file (checked 10 source files)
""", CODE, FixAction.HUMAN, "code.path-error", {}),
    ("black", """
would reformat src/app.py
Oh no! 💥 💔 💥
1 file would be reformatted.
""", CODE, FixAction.HUMAN, "code.format", {}),
    ("pytest-assert", """
E       AssertionError: assert 2 == 3
FAILED tests/test_math.py::test_add - AssertionError: assert 2 == 3
""", CODE, FixAction.HUMAN, "code.assertion", {}),
    ("jest-expect", """
    expect(received).toBe(expected) // Object.is equality
    Expected: 3
    Received: 2
""", CODE, FixAction.HUMAN, "code.assertion", {}),
    ("go-test", """
--- FAIL: TestAdd (0.00s)
    math_test.go:10: expected 3, got 2
FAIL
""", CODE, FixAction.HUMAN, "code.test-failed", {}),
    ("junit", """
[ERROR] testAdd(com.acme.MathTest)  Time elapsed: 0.01 s  <<< FAILURE!
org.opentest4j.AssertionFailedError: expected: <3> but was: <2>
""", CODE, FixAction.HUMAN, "code.assertion", {}),
    ("regenerate", "Generated code is stale. Please run `make generate` and commit the changes.", CODE, FixAction.HUMAN,
     "code.generated-files", {}),
    ("pre-commit", """
trailing-whitespace......................................................Failed
- hook id: trailing-whitespace
- exit code: 1
- files were modified by this hook
""", CODE, FixAction.HUMAN, "code.generated-files", {}),
    ("coverage", "ERROR: Coverage for lines (78.5%) does not meet global threshold (80%)", CODE, FixAction.HUMAN,
     "code.coverage", {}),
    ("failed-consistently", "FAILED CONSISTENTLY: test/test_ops.py::TestOps::test_add", CODE, FixAction.HUMAN,
     "code.failed-consistently", {}),
    ("csharp", "Program.cs(12,17): error CS0103: The name 'foo' does not exist in the current context [/src/App.csproj]",
     CODE, FixAction.HUMAN, "code.csharp", {}),
    ("elixir", "== Compilation error in file lib/app/user.ex ==", CODE, FixAction.HUMAN, "code.erlang-elixir", {}),
    ("maven-javac", "[ERROR] /home/runner/work/app/src/main/java/com/acme/App.java:[10,5] cannot find symbol", CODE,
     FixAction.HUMAN, "code.java", {}),
    ("kotlin", "e: file:///home/runner/work/app/src/main/kotlin/App.kt:10:5 Unresolved reference: foo", CODE,
     FixAction.HUMAN, "code.jvm-languages", {}),
    ("ld", """
/usr/bin/ld: main.o: in function `main': main.c:(.text+0x1e): undefined reference to `foo'
collect2: error: ld returned 1 exit status
""", CODE, FixAction.HUMAN, "code.link", {"symbol": "foo"}),
    ("golangci", "pkg/util/strings.go:12:6: func `unused` is unused (unused)", CODE, FixAction.HUMAN, "code.lint-go", {}),
    ("mypy-summary", "Found 3 errors in 2 files (checked 12 source files)", CODE, FixAction.HUMAN, "code.lint-summary", {}),
    ("pod-spec", "[!] Unable to find a specification for `FooKit` depended upon by `App`", DEP,
     FixAction.PIN_OR_BUMP_DEPENDENCY, "dep.cocoapods-spec", {"pod": "FooKit"}),
    ("class-version", "    class file has wrong version 61.0, should be 55.0", DEP, FixAction.PIN_OR_BUMP_DEPENDENCY,
     "dep.java-class-version", {"found": "61.0", "expected": "55.0"}),
    ("node-module", """
Error: Cannot find module 'express'
Require stack:
- /app/server.js
""", DEP, FixAction.ADD_DEPENDENCY, "dep.node-missing-module", {"package": "express"}),
    ("nuget", "/src/App.csproj : error NU1101: Unable to find package Foo.Bar. No packages exist with this id in source(s): nuget.org",
     DEP, FixAction.PIN_OR_BUMP_DEPENDENCY, "dep.nuget", {}),
    ("pip-conflict-warning", "ERROR: pip's dependency resolver does not currently take into account all the packages that are installed. This behaviour is the source of the following dependency conflicts.",
     DEP, FixAction.PIN_OR_BUMP_DEPENDENCY, "dep.pip-conflict-warning", {}),
    ("rust-crate", "error[E0463]: can't find crate for `serde`", DEP, FixAction.ADD_DEPENDENCY, "dep.rust-missing-crate",
     {"crate": "serde"}),
    ("sbt", "[error] (*:update) sbt.ResolveException: unresolved dependency: com.acme#lib_2.12;1.2.3: not found", DEP,
     FixAction.PIN_OR_BUMP_DEPENDENCY, "dep.sbt-ivy", {"artifact": "com.acme#lib_2.12;1.2.3"}),
    ("vendored", "node_modules/@types/react/index.d.ts(3100,14): error TS2300: Duplicate identifier 'LibraryManagedAttributes'.",
     DEP, FixAction.PIN_OR_BUMP_DEPENDENCY, "dep.vendored-compile-error", {}),
    ("vendored-rustc", """
   Compiling linked_list_allocator v0.5.0
error[E0407]: method `oom` is not a member of trait `Alloc`
   --> /home/ci/.cargo/registry/src/github.com-1ecc6299db9ec823/linked_list_allocator-0.5.0/src/lib.rs:139:5
    |
139 | /     fn oom(&mut self, _: AllocErr) -> ! {
""", DEP, FixAction.PIN_OR_BUMP_DEPENDENCY, "dep.vendored-compile-error", {}),
    ("executable", "##[error]Unable to locate executable file: pwsh. Please verify either the file path exists or the file can be found within a directory specified by the PATH environment variable.",
     ENV, FixAction.FIX_CONFIG, "env.executable-missing", {}),
    ("java-home", "ERROR: JAVA_HOME is not set and no 'java' command could be found in your PATH.", ENV, FixAction.FIX_CONFIG,
     "env.java-home", {}),
    ("npm-missing-script", 'npm ERR! Missing script: "test:ci"', ENV, FixAction.FIX_CONFIG, "env.missing-project-file",
     {"script": "test:ci"}),
    ("repo-not-found", """
remote: Repository not found.
fatal: repository 'https://github.com/acme/privy.git/' not found
""", ENV, FixAction.FIX_CONFIG, "env.repository-not-found", {}),
    ("tls-protocol", "javax.net.ssl.SSLHandshakeException: Received fatal alert: protocol_version", ENV,
     FixAction.FIX_CONFIG, "env.tls-protocol", {}),
    ("cmake-openssl", "-- Could NOT find OpenSSL, try to set the path to OpenSSL root folder in the system variable OPENSSL_ROOT_DIR (missing: OPENSSL_CRYPTO_LIBRARY OPENSSL_INCLUDE_DIR)",
     ENV, FixAction.FIX_CONFIG, "env.toolchain", {"package": "OpenSSL"}),
    ("env-required", "Error: NODE_ENV environment variable is required", ENV, FixAction.SET_ENV_DEFAULT,
     "env.variable-not-set-after", {"name": "NODE_ENV"}),
    ("postgres-not-ready", "psycopg2.OperationalError: could not connect to server: Connection refused", FLAKY,
     FixAction.RETRY, "flaky.service-not-ready", {}),
    ("canceled", "##[error]The operation was canceled.", INFRA, FixAction.RETRY, "infra.canceled", {}),
    ("git-rpc", """
error: RPC failed; curl 56 GnuTLS recv error (-54): Error in the pull function.
fatal: early EOF
""", INFRA, FixAction.RETRY, "infra.git-transfer", {}),
    ("pod-pending", "Waiting for pod gitlab-runner/runner-abc-project-1-concurrent-0xyz to be running, status is Pending",
     INFRA, FixAction.RETRY, "infra.pod-pending", {}),
    ("npm-retry-warning", "npm WARN retry will retry, error on last attempt: Error: getaddrinfo EAI_AGAIN registry.npmjs.org",
     INFRA, FixAction.RETRY, "infra.retry-warning", {}),
    ("fork", "bash: fork: retry: Resource temporarily unavailable", RES, FixAction.RETRY, "resource.process-limit", {}),
    ("pep668", "error: externally-managed-environment", ENV, FixAction.FIX_CONFIG, "env.tool-version", {}),
    ("node-openssl", "Error: error:0308010C:digital envelope routines::unsupported", ENV, FixAction.FIX_CONFIG,
     "env.tool-version", {}),
    ("javac-release", "[ERROR] Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin:3.8.1:compile (default-compile) on project app: Fatal error compiling: invalid target release: 17 -> [Help 1]",
     ENV, FixAction.FIX_CONFIG, "env.tool-version", {}),
    ("docker-context", 'ERROR: failed to solve: failed to compute cache key: failed to calculate checksum of ref 4f1c::abc: "/app/requirements.txt": not found',
     ENV, FixAction.FIX_CONFIG, "env.missing-project-file", {}),
    ("image-tag", "Error response from daemon: manifest for node:99-alpine not found: manifest unknown: manifest unknown",
     ENV, FixAction.FIX_CONFIG, "env.image-not-found", {}),
    ("template", "Error: The template is not valid. .github/actions/setup/action.yml (Line: 12, Col: 14): Unexpected symbol",
     ENV, FixAction.FIX_CONFIG, "env.ci-config", {}),
    ("wheel", """
  error: subprocess-exited-with-error
  ERROR: Failed building wheel for psycopg2
""", DEP, FixAction.PIN_OR_BUMP_DEPENDENCY, "dep.wheel-build", {"package": "psycopg2"}),
    ("dotnet-test", "Test Run Failed.", CODE, FixAction.HUMAN, "code.test-failed", {}),
]  # fmt: skip

# Precedence: which rule explains the failure when several match.
PRECEDENCE: list[tuple[str, str, Category, str]] = [
    ("a test failing on a network read timeout is a network failure (flakiness comes from history)", """
E   requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='example.org', port=443): Read timed out. (read timeout=5)
FAILED tests/test_dl.py::test_download - requests.exceptions.ReadTimeout: read timed out
""", INFRA, "infra.connection"),
    ("a compile error next to a network warning is code", """
npm WARN retry will retry, error on last attempt: Error: socket hang up
src/app.ts(12,5): error TS2322: Type 'string' is not assignable to type 'number'.
""", CODE, "code.typescript"),
    ("a cargo network warning does not hide a type error", """
warning: spurious network error (2 tries remaining): [6] Couldn't resolve host name (Could not resolve host: index.crates.io)
error[E0308]: mismatched types
""", CODE, "code.rust"),
    ("pip resolution failing after network retries is infrastructure", """
WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f3a>: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')': /simple/requests/
ERROR: Could not find a version that satisfies the requirement requests (from versions: none)
ERROR: No matching distribution found for requests
""", INFRA, "infra.resolution-after-network"),
    ("maven resolution failing on a reset connection is infrastructure", "[ERROR] Failed to execute goal on project api: Could not resolve dependencies for project com.acme:api:jar:1.0: Could not transfer artifact org.slf4j:slf4j-api:jar:1.7.36 from/to central (https://repo.maven.apache.org/maven2): Connection reset -> [Help 1]",
     INFRA, "infra.connection"),
    ("gradle resolution failing on a 502 is infrastructure", """
> Could not resolve all files for configuration ':app:runtimeClasspath'.
   > Could not resolve com.google.guava:guava:31.1-jre.
      > Could not GET 'https://repo.maven.apache.org/maven2/com/google/guava/guava/31.1-jre/guava-31.1-jre.pom'. Received status code 502 from server: Bad Gateway
""", INFRA, "infra.http-5xx"),
    ("running out of heap explains the compile failure after it", """
* What went wrong:
Java heap space
* What went wrong:
Execution failed for task ':core:compileJava'.
> Compilation failed; see the compiler error output for details.
""", RES, "resource.java-heap"),
    ("a full disk explains the broken build after it", """
cc1plus: fatal error: error writing to /tmp/ccX1.s: No space left on device
src/big.cpp:1:10: error: expected unqualified-id
""", RES, "resource.disk-full"),
    ("a missing variable explains the failing test", """
    self.url = os.environ["SERVICE_URL"]
E   KeyError: 'SERVICE_URL'
FAILED tests/test_client.py::test_connect - KeyError: 'SERVICE_URL'
""", ENV, "env.keyerror-environ"),
    ("a KeyError outside an environment lookup is not a missing variable", """
    value = cache["ID"]
E   KeyError: 'ID'
FAILED tests/test_cache.py::test_get - KeyError: 'ID'
""", CODE, "code.test-failed"),
    ("a missing module explains the test collection error", """
ImportError while importing test module '/home/runner/work/app/tests/test_api.py'.
E   ModuleNotFoundError: No module named 'requests'
ERROR tests/test_api.py
!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!
""", DEP, "dep.python-missing-module"),
    ("upload warnings do not explain a failing test", """
Failed to upload test reports: Unable to locate credentials
SCRIBE_GRAPHQL_ACCESS_TOKEN is NOT set
FAILED tests/test_api.py::test_get - assert 404 == 200
""", CODE, "code.test-failed"),
    ("a test that passes on re-run is flaky even though it failed", """
FAILED tests/test_queue.py::test_drain - AssertionError: queue not empty
The following tests failed and then succeeded when run in a new process['tests/test_queue.py::test_drain']
""", FLAKY, "flaky.marker"),
    ("a failure on every re-run is code, not flaky", """
tests/test_io.py::test_read FLAKY
FAILED CONSISTENTLY: tests/test_io.py::test_read
""", CODE, "code.failed-consistently"),
    ("a main-thread panic on a 404 download is a missing artifact, not a test failure", """
* Failure 404 Not Found
thread 'main' panicked at 'called `Result::unwrap()` on an `Err` value: NotFound', src/main.rs:10:5
""", DEP, "dep.artifact-404"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("log", "category", "action", "playbook", "params"),
    [pytest.param(*case[1:], id=case[0]) for case in SNIPPETS],
)
def test_snippet(log: str, category: Category, action: FixAction, playbook: str | None, params: dict) -> None:
    diagnosis = diag(log)
    assert (diagnosis.category, diagnosis.action) == (category, action), diagnosis.playbook
    assert diagnosis.source is Source.PLAYBOOK
    if playbook is not None:
        assert diagnosis.playbook == playbook
    assert params.items() <= diagnosis.params.items()
    assert diagnosis.key_line in log.splitlines()
    if category is CODE:
        assert diagnosis.action is FixAction.HUMAN and not diagnosis.auto_fix and diagnosis.risk_score == 10


@pytest.mark.parametrize(("log", "category", "playbook"), [pytest.param(*c[1:], id=c[0]) for c in PRECEDENCE])
def test_precedence(log: str, category: Category, playbook: str) -> None:
    diagnosis = diag(log)
    assert (diagnosis.category, diagnosis.playbook) == (category, playbook)


def test_known_module_is_installed_automatically() -> None:
    diagnosis = diag("ModuleNotFoundError: No module named 'yaml'")
    assert diagnosis.params["distribution"] == "PyYAML" and not any("typosquat" in n for n in diagnosis.notes)
    assert any("PyYAML" in step for step in diagnosis.steps)
    # calibration sets the confidence only; the risk gate's floor decides (domain.ci_healing.risk)
    rule = default_playbooks().rule(diagnosis.evidence.removeprefix("rule:"))
    assert diagnosis.auto_fix == rule.auto_fix
    assert diagnosis.confidence == calibrate(diagnosis.evidence, rule.confidence).confidence


def test_unknown_module_is_never_installed_automatically() -> None:
    diagnosis = diag("E   ModuleNotFoundError: No module named 'reqeusts'")
    assert diagnosis.action is FixAction.ADD_DEPENDENCY and diagnosis.params["module"] == "reqeusts"
    assert not diagnosis.auto_fix
    assert diagnosis.params["distribution"] == "unknown"
    assert any("typosquat" in note for note in diagnosis.notes)
    assert "typosquat" in diagnosis.explanation


def test_secret_looking_variable_gets_no_default_automatically() -> None:
    plain = diag("./deploy.sh: line 3: AWS_REGION: unbound variable")
    secret = diag("./release.sh: line 3: NPM_TOKEN: unbound variable")
    assert plain.params["name"] == "AWS_REGION" and not any("secret" in note for note in plain.notes)
    rule = default_playbooks().rule(plain.evidence.removeprefix("rule:"))
    assert plain.auto_fix == rule.auto_fix
    assert secret.action is FixAction.SET_ENV_DEFAULT and secret.params["name"] == "NPM_TOKEN"
    assert not secret.auto_fix and secret.notes


def test_unmatched_log_falls_back_to_a_human_with_low_confidence() -> None:
    log = "step 1 ok\nWidget frobnication: error: the flux capacitor is misaligned\nstep 3 ok\n"
    diagnosis = diag(log)
    assert diagnosis.source is Source.FALLBACK and diagnosis.action is FixAction.HUMAN
    assert diagnosis.confidence < 50 and diagnosis.playbook is None and not diagnosis.auto_fix
    assert diagnosis.key_line == "Widget frobnication: error: the flux capacitor is misaligned"
    assert diagnosis.key_line_number == 2


def test_log_without_error_lines_keeps_its_last_line() -> None:
    diagnosis = diag("collecting\nbuilding\nall done\n\n")
    assert diagnosis.source is Source.FALLBACK and diagnosis.key_line == "all done"


def test_empty_log() -> None:
    diagnosis, distilled = diagnose([])
    assert diagnosis.source is Source.FALLBACK and diagnosis.key_line == "" and distilled.total_lines == 0


def test_first_decisive_line_wins_among_equal_priorities() -> None:
    log = "a.c:1:1: error: first\nb.c:2:2: error: second\n"
    diagnosis = diag(log)
    assert diagnosis.key_line == "a.c:1:1: error: first" and diagnosis.key_line_number == 1


def test_higher_priority_wins_even_later() -> None:
    log = "a.c:1:1: error: first\nld: something\nNo space left on device\n"
    diagnosis = diag(log)
    assert diagnosis.category is RES and diagnosis.key_line_number == 3


def test_every_shipped_rule_is_exercised_by_a_snippet() -> None:
    fired = {diag(case[1]).playbook for case in SNIPPETS} | {diag(case[1]).playbook for case in PRECEDENCE}
    rules = {rule.id for rule in default_playbooks().rules}
    assert len(rules) >= 60
    assert rules - fired == set()


def test_code_rules_are_never_automated() -> None:
    for rule in default_playbooks().rules:
        if rule.category is CODE:
            assert rule.action is FixAction.HUMAN and not rule.auto_fix, rule.id


# --- playbook files


def write(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path


GOOD_RULE = """
  - id: demo.rule
    priority: 10
    category: infrastructure
    pattern: 'flux capacitor (?P<state>broken|missing)'
    action: retry
    confidence: 80
    auto_fix: true
    plan: ["Fix the {state} capacitor"]
    explanation: 'The capacitor is {state}.'
"""


def test_custom_playbook_loads_and_matches(tmp_path: Path) -> None:
    playbooks = load_playbooks(write(tmp_path, "rules:" + GOOD_RULE))
    diagnosis = diagnose(["ok", "the flux capacitor broken again"], playbooks=playbooks)[0]
    assert diagnosis.playbook == "demo.rule" and diagnosis.params == {"state": "broken"}
    assert (
        diagnosis.steps == ["Fix the broken capacitor"]
        and diagnosis.explanation == "The capacitor is broken."
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("pattern: 'flux capacitor (?P<state>broken|missing)'", "pattern: 'flux (capacitor'"),
            "pattern: invalid regular expression",
        ),
        (("confidence: 80", "confidence: 180"), "confidence"),
        (("action: retry", "action: reboot_the_world"), "action"),
        (("category: infrastructure", "category: code"), "action: a code failure is fixed by a human"),
        (
            ('plan: ["Fix the {state} capacitor"]', 'plan: ["Fix {nothing}"]'),
            "plan: unknown placeholder {nothing}",
        ),
        (("auto_fix: true", "auto_fix: true\n    colour: blue"), "colour: Extra inputs are not permitted"),
        (("pattern: 'flux capacitor (?P<state>broken|missing)'", "pattern: '(?P<state>x|y)'"), "keywords"),
        (("risk", "risk"), None),
    ],
)
def test_invalid_rule_names_file_rule_and_field(
    tmp_path: Path, change: tuple[str, str], message: str | None
) -> None:
    text = "rules:" + GOOD_RULE.replace(*change)
    if message is None:
        text = "rules:" + GOOD_RULE.replace("confidence: 80", "confidence: 80\n    risk: extreme")
        message = "risk"
    with pytest.raises(PlaybookError) as error:
        load_playbooks(write(tmp_path, text))
    assert str(tmp_path / "rules.yaml") in str(error.value)
    assert "demo.rule" in str(error.value) and message in str(error.value)


def test_rule_without_id_is_named_by_position(tmp_path: Path) -> None:
    text = "rules:" + GOOD_RULE + GOOD_RULE.replace("  - id: demo.rule\n", "  -\n")
    with pytest.raises(PlaybookError, match=r"rule #2: id: Field required"):
        load_playbooks(write(tmp_path, text))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [", "not valid YAML"),
        ("- just a list", "exactly one key, `rules:`"),
        ("rules:\n  - 42", "rule #1: a rule must be a mapping"),
    ],
)
def test_malformed_file(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(PlaybookError, match=message):
        load_playbooks(write(tmp_path, text))


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    write(tmp_path, "rules:" + GOOD_RULE, "a.yaml")
    write(tmp_path, "rules:" + GOOD_RULE, "b.yml")
    with pytest.raises(PlaybookError, match=r"duplicate rule ids: demo\.rule"):
        load_playbooks(tmp_path)


def test_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="no playbook files"):
        load_playbooks(tmp_path)


def test_parse_playbook_reports_every_bad_rule_at_once() -> None:
    text = (
        "rules:"
        + GOOD_RULE.replace("confidence: 80", "confidence: -1")
        + GOOD_RULE.replace("demo.rule", "demo.other").replace("priority: 10", "priority: high")
    )
    with pytest.raises(PlaybookError) as error:
        parse_playbook(text, "x.yaml")
    assert "x.yaml: rule 'demo.rule': confidence" in str(error.value)
    assert "x.yaml: rule 'demo.other': priority" in str(error.value)


@pytest.mark.parametrize(
    ("pattern", "tokens", "substrings"),
    [
        (r"\bECONNRESET\b", {"econnreset"}, {"econnreset"}),
        ("No space left on device", {"space"}, {"no space left on device"}),  # edge words may be glued
        (r"(?i)\bfail(?:ed|ure)\b", {"failed", "failure"}, {"failed", "failure"}),
        ("OutOfMemoryError", None, {"outofmemoryerror"}),  # no boundary: not a whole word for sure
        (r"\benv(?:ironment)? variable\b", {"env", "environment"}, {"env variable", "environment variable"}),
        (r"(?P<x>\w+)=(?P<y>\d+)", None, None),  # nothing literal to look for
    ],
)
def test_required_words_are_derived_soundly(pattern: str, tokens: set | None, substrings: set | None) -> None:
    found_tokens = derive_keywords(pattern, tokens=True)
    found_substrings = derive_keywords(pattern)
    assert (set(found_tokens) if found_tokens else None) == tokens
    assert (set(found_substrings) if found_substrings else None) == substrings


def test_scan_returns_the_decisive_match_and_its_line() -> None:
    lines = [
        "npm WARN deprecated left-pad@1.0.0",
        "src/a.c:3:1: error: boom",
        "No space left on device",
        "ok",
    ]
    found = default_playbooks().scan(lines)
    assert found is not None
    match, number = found
    assert (match.rule.id, number) == ("resource.disk-full", 3)
    assert default_playbooks().scan(["all good", "done"]) is None
