// The install scripts CreateActivation returns: a POSIX sh script for Linux (direct or through
// ALIYUN_ASSIST_PROXY) and a PowerShell script for Windows. Each downloads the agent package this
// control plane serves (/assist/packages), checks its SHA-256 against SHA256SUMS over TLS pinned to
// the control plane's CA, installs it, points the agent at this server and registers it with the
// activation. The scripts hold the activation code: they are rendered for the one response and
// never stored.
import { psQuote, shQuote } from './quote.js';

export interface InstallScriptContext {
  /** `host` or `host:port` agents use to reach this server (their ALIYUN_ASSIST_SERVER_HOST). */
  serverHost: string;
  regionId: string;
  /** The CA that signed the server certificate, pinned by the scripts; undefined when the certificate is publicly trusted. */
  caPem: string | undefined;
}

export interface Activation {
  activationId: string;
  activationCode: string;
}

/** The `InstallScripts` field of the CreateActivation response (an extension; SDK models ignore it). */
export interface InstallScripts {
  /** sh script: direct connection. */
  Linux: string;
  /** sh script: downloads, registers and runs through the proxy in ALIYUN_ASSIST_PROXY (required). */
  LinuxProxy: string;
  /** PowerShell script; uses $env:ALIYUN_ASSIST_PROXY when it is set. */
  Windows: string;
  /** One line to paste into a root-capable shell: the Linux script, base64-encoded, piped into `sudo sh`. */
  LinuxCommand: string;
  /** The same for LinuxProxy; the operator replaces the proxy placeholder. */
  LinuxProxyCommand: string;
}

/** Where the packages are served, relative to the server (control-plane/install/package-routes.ts). */
export const PACKAGES_PATH = '/assist/packages';
/** The agent's environment file, read by every unit the installer writes (service-units/). */
export const LINUX_ENV_FILE = '/etc/sysconfig/aliyun';
/** Install root of the packages (docs/packaging.md); `config/` survives package removal. */
export const LINUX_INSTALL_ROOT = '/usr/local/share/aliyun-assist';
export const LINUX_CA_PATH = `${LINUX_INSTALL_ROOT}/config/server-ca.pem`;
export const PROXY_PLACEHOLDER = 'http://PROXY_HOST:PORT';

const HOST_RE = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/;
const PEM_RE = /^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\r?\n?$/;

export function renderInstallScripts(ctx: InstallScriptContext, a: Activation): InstallScripts {
  if (!HOST_RE.test(ctx.serverHost)) {
    throw new Error(`server host must be host or host:port, got ${ctx.serverHost}`);
  }
  if (ctx.caPem !== undefined && !PEM_RE.test(ctx.caPem)) {
    throw new Error('the CA certificate is not one PEM certificate');
  }
  const linux = linuxScript(ctx, a, false);
  const linuxProxy = linuxScript(ctx, a, true);
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  return {
    Linux: linux,
    LinuxProxy: linuxProxy,
    Windows: windowsScript(ctx, a),
    LinuxCommand: `echo ${b64(linux)} | base64 -d | sudo sh`,
    LinuxProxyCommand: `echo ${b64(linuxProxy)} | base64 -d | sudo env ALIYUN_ASSIST_PROXY=${PROXY_PLACEHOLDER} sh`,
  };
}

function linuxScript(ctx: InstallScriptContext, a: Activation, viaProxy: boolean): string {
  // Values first, each quoted; the body below uses them only as "$VARIABLES".
  const values = [
    `SERVER_HOST=${shQuote(ctx.serverHost)}`,
    `REGION_ID=${shQuote(ctx.regionId)}`,
    `ACTIVATION_ID=${shQuote(a.activationId)}`,
    `ACTIVATION_CODE=${shQuote(a.activationCode)}`,
    `USE_PROXY=${viaProxy ? 1 : 0}`,
    `CA_PEM=${shQuote((ctx.caPem ?? '').trim())}`,
  ].join('\n');
  return `#!/bin/sh
# Open Cloud Assistant: installs the agent (aliyun-service) from its control plane and registers
# this machine as a managed instance. Written by CreateActivation for one activation: it holds the
# activation code, so treat it as a secret. Run it as root.
${viaProxy ? '# Proxy variant: set ALIYUN_ASSIST_PROXY=http://[user:password@]host:port; the download, the\n# registration and the agent all go through it.\n' : ''}#
# ASSIST_INSTALL_ROOT=<dir> installs below another root (an image being built, a test): the package
# and the settings go there, the agent registers with its identity there, and nothing is started.
set -eu

${values}

R="\${ASSIST_INSTALL_ROOT:-}"
ROOT=${shQuote(LINUX_INSTALL_ROOT)}
CA_PATH=${shQuote(LINUX_CA_PATH)}
ENV_FILE=${shQuote(LINUX_ENV_FILE)}
BASE="https://$SERVER_HOST${PACKAGES_PATH}"

say() { printf 'aliyun-assist install: %s\\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}

[ "$(id -u)" = 0 ] || die 'run this script as root'

PROXY=
if [ "$USE_PROXY" = 1 ]; then
  PROXY="\${ALIYUN_ASSIST_PROXY:-}"
  [ -n "$PROXY" ] || die 'set ALIYUN_ASSIST_PROXY=http://[user:password@]host:port first'
  case "$PROXY" in
    http://?*) ;;
    *) die 'ALIYUN_ASSIST_PROXY must look like http://[user:password@]host:port' ;;
  esac
  # It goes into the agent's environment file: percent-encode anything else (in a password).
  case "$PROXY" in
    *[!A-Za-z0-9._~:/@%+=,-]*) die 'ALIYUN_ASSIST_PROXY: percent-encode characters other than letters, digits and ._~:/@%+=,-' ;;
  esac
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
CA_ARG=
if [ -n "$CA_PEM" ]; then
  printf '%s\\n' "$CA_PEM" >"$TMP/ca.pem"
  CA_ARG="$TMP/ca.pem"
fi

# Downloads $1 to $2, trusting only the control plane's CA when there is one.
fetch() {
  if command -v curl >/dev/null 2>&1; then
    set -- "$1" "$2" -fsS --retry 3 -o "$2"
    if [ -n "$CA_ARG" ]; then set -- "$@" --cacert "$CA_ARG"; fi
    if [ -n "$PROXY" ]; then set -- "$@" --proxy "$PROXY"; else set -- "$@" --noproxy '*'; fi
    url=$1
    shift 2
    curl "$@" "$url"
  elif command -v wget >/dev/null 2>&1; then
    set -- "$1" "$2" -q -O "$2"
    if [ -n "$CA_ARG" ]; then set -- "$@" --ca-certificate="$CA_ARG"; fi
    url=$1
    shift 2
    if [ -n "$PROXY" ]; then
      https_proxy="$PROXY" wget "$@" "$url"
    else
      wget --no-proxy "$@" "$url"
    fi
  else
    die 'neither curl nor wget is installed'
  fi
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  else
    openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1
  fi
}

case "$(uname -m)" in
  x86_64 | amd64) DEB_ARCH=amd64 RPM_ARCH=x86_64 ;;
  aarch64 | arm64) DEB_ARCH=arm64 RPM_ARCH=aarch64 ;;
  *) die "no agent package for $(uname -m)" ;;
esac

fetch "$BASE/SHA256SUMS" "$TMP/SHA256SUMS" || die "cannot download $BASE/SHA256SUMS"
# The last package in SHA256SUMS whose name matches $1.
pick() { awk -v re="$1" '$2 ~ re { name = $2 } END { print name }' "$TMP/SHA256SUMS"; }
KIND=
PKG=
if command -v dpkg >/dev/null 2>&1 && [ -f "$R/var/lib/dpkg/status" ]; then
  KIND=deb
  PKG=$(pick "^aliyun-assist_[0-9.]+_$DEB_ARCH[.]deb$")
elif command -v rpm >/dev/null 2>&1 && { [ -d "$R/var/lib/rpm" ] || [ -d "$R/usr/lib/sysimage/rpm" ]; }; then
  KIND=rpm
  PKG=$(pick "^aliyun_assist-[0-9.]+-[0-9]+[.]$RPM_ARCH[.]rpm$")
fi
if [ -z "$PKG" ]; then
  # No package manager, or no package of its kind: the update zip, which holds the same files.
  KIND=zip
  PKG=$(pick '^[0-9.]+_update[.]zip$')
fi
[ -n "$PKG" ] || die "$BASE serves no package for this machine"

say "downloading $PKG from $SERVER_HOST"
fetch "$BASE/$PKG" "$TMP/$PKG" || die "cannot download $BASE/$PKG"
WANT=$(awk -v f="$PKG" '$2 == f { print $1 }' "$TMP/SHA256SUMS")
GOT=$(sha256 "$TMP/$PKG")
[ "$GOT" = "$WANT" ] || die "$PKG: SHA-256 $GOT does not match SHA256SUMS ($WANT)"

# The CA and the agent's settings go in first, so that the agent the package starts finds them.
umask 022
mkdir -p "$R$ROOT/config" "$R$(dirname "$ENV_FILE")"
if [ -n "$CA_PEM" ]; then
  printf '%s\\n' "$CA_PEM" >"$R$CA_PATH.new"
  mv -f "$R$CA_PATH.new" "$R$CA_PATH"
fi
{
  if [ -f "$R$ENV_FILE" ]; then
    grep -v -E '^(ALIYUN_ASSIST_SERVER_HOST|ALIYUN_ASSIST_CERT_PATH|ALIYUN_ASSIST_PROXY)=' "$R$ENV_FILE" || true
  fi
  printf 'ALIYUN_ASSIST_SERVER_HOST=%s\\n' "$SERVER_HOST"
  if [ -n "$CA_PEM" ]; then printf 'ALIYUN_ASSIST_CERT_PATH=%s\\n' "$CA_PATH"; fi
  if [ -n "$PROXY" ]; then printf "ALIYUN_ASSIST_PROXY='%s'\\n" "$PROXY"; fi
} >"$TMP/env"
# 0600: a proxy URL may carry a password.
(umask 077 && cp "$TMP/env" "$R$ENV_FILE.new")
mv -f "$R$ENV_FILE.new" "$R$ENV_FILE"

say "installing $PKG"
case "$KIND" in
  deb)
    if [ -n "$R" ]; then
      dpkg --root="$R" --force-script-chrootless --force-not-root --log=/dev/null -i "$TMP/$PKG" >&2
    else
      dpkg -i "$TMP/$PKG" >&2
    fi
    ;;
  rpm)
    if [ -n "$R" ]; then
      rpm --root="$R" -U --replacepkgs --noscripts "$TMP/$PKG" >&2
      DPKG_ROOT="$R" sh -c "$(rpm -qp --qf '%{POSTIN}' "$TMP/$PKG")" postinst 1 >&2
    else
      rpm -U --replacepkgs "$TMP/$PKG" >&2
    fi
    ;;
  zip)
    command -v unzip >/dev/null 2>&1 || die 'unzip is needed to install the zip package'
    mkdir -p "$R$ROOT"
    unzip -o -q "$TMP/$PKG" -d "$R$ROOT"
    sh "$R$ROOT/\${PKG%%_*}/update_install" >&2
    ;;
esac
VERSION=$(cat "$R$ROOT/version")
BIN="$R$ROOT/$VERSION/aliyun-service"
[ -x "$BIN" ] || die "$BIN is missing after the install"

if [ -s "$R$ROOT/hybrid/instance-id" ]; then
  say "already registered as $(cat "$R$ROOT/hybrid/instance-id"); to register again run aliyun-service --deregister first"
else
  say "registering with activation $ACTIVATION_ID"
  env ALIYUN_ASSIST_SERVER_HOST="$SERVER_HOST" ALIYUN_ASSIST_CERT_PATH="\${CA_PEM:+$R$CA_PATH}" \\
    ALIYUN_ASSIST_PROXY="$PROXY" ALIYUN_ASSIST_INSTALL_DIR="$R$ROOT" ALIYUN_ASSIST_SERVICE_ROOT="\${R:-/}" \\
    "$BIN" --register --RegionId "$REGION_ID" --ActivationCode "$ACTIVATION_CODE" --ActivationId "$ACTIVATION_ID" ||
    die 'registration failed'
fi

if [ -n "$R" ]; then
  say "installed and registered below $R; nothing was started"
elif command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  UNIT=aliyun.service
  if systemctl is-enabled --quiet assist_daemon.service 2>/dev/null; then
    UNIT=assist_daemon.service
  else
    systemctl enable aliyun.service
  fi
  systemctl daemon-reload
  systemctl restart "$UNIT"
  say "started $UNIT"
else
  # No systemd: the agent installs its own upstart or sysvinit service.
  "$BIN" --install
  "$BIN" --start
fi
say "done: managed instance $(cat "$R$ROOT/hybrid/instance-id")"
`;
}

function windowsScript(ctx: InstallScriptContext, a: Activation): string {
  const values = [
    `$ServerHost = ${psQuote(ctx.serverHost)}`,
    `$RegionId = ${psQuote(ctx.regionId)}`,
    `$ActivationId = ${psQuote(a.activationId)}`,
    `$ActivationCode = ${psQuote(a.activationCode)}`,
    `$CaPem = ${psQuote((ctx.caPem ?? '').trim())}`,
  ].join('\n');
  return `# Open Cloud Assistant: installs the agent from its control plane and registers this machine as a
# managed instance. Written by CreateActivation for one activation: it holds the activation code,
# so treat it as a secret. Run it in an elevated PowerShell (5.1 or later). To go through a proxy,
# set $env:ALIYUN_ASSIST_PROXY = 'http://[user:password@]host:port' first.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2

${values}

$Root = Join-Path $env:ProgramData 'aliyun\\assist'
$Base = "https://$ServerHost${PACKAGES_PATH}"
$Proxy = $env:ALIYUN_ASSIST_PROXY

$me = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $me.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
  throw 'run this script in an elevated PowerShell'
}
[Net.ServicePointManager]::SecurityProtocol = [Net.SecurityProtocolType]::Tls12
if ($CaPem) {
  # Pin the control plane's CA: accept only a chain for the requested name that ends in it.
  $Ca = New-Object Security.Cryptography.X509Certificates.X509Certificate2(,
    [Convert]::FromBase64String(($CaPem -replace '-----[A-Z ]+-----', '' -replace '\\s', '')))
  [Net.ServicePointManager]::ServerCertificateValidationCallback = {
    param($src, $cert, $chain, $errors)
    $bad = [Net.Security.SslPolicyErrors]::RemoteCertificateNameMismatch -bor [Net.Security.SslPolicyErrors]::RemoteCertificateNotAvailable
    if ($errors -band $bad) { return $false }
    $c = New-Object Security.Cryptography.X509Certificates.X509Chain
    $c.ChainPolicy.RevocationMode = [Security.Cryptography.X509Certificates.X509RevocationMode]::NoCheck
    $c.ChainPolicy.VerificationFlags = [Security.Cryptography.X509Certificates.X509VerificationFlags]::AllowUnknownCertificateAuthority
    [void]$c.ChainPolicy.ExtraStore.Add($Ca)
    if (-not $c.Build((New-Object Security.Cryptography.X509Certificates.X509Certificate2($cert)))) { return $false }
    return $c.ChainElements[$c.ChainElements.Count - 1].Certificate.Thumbprint -eq $Ca.Thumbprint
  }.GetNewClosure()
}

function Get-File([string]$Url, [string]$Path) {
  $wc = New-Object Net.WebClient
  if ($Proxy) {
    $u = [Uri]$Proxy
    $wp = New-Object Net.WebProxy($u.GetLeftPart([UriPartial]::Authority))
    if ($u.UserInfo) {
      $p = $u.UserInfo.Split(':', 2)
      $pass = if ($p.Count -gt 1) { [Uri]::UnescapeDataString($p[1]) } else { '' }
      $wp.Credentials = New-Object Net.NetworkCredential([Uri]::UnescapeDataString($p[0]), $pass)
    }
    $wc.Proxy = $wp
  } else {
    $wc.Proxy = $null
  }
  $wc.DownloadFile($Url, $Path)
}

$Arch = if ($env:PROCESSOR_ARCHITECTURE -eq 'ARM64') { 'arm64' } else { 'amd64' }
$Tmp = Join-Path ([IO.Path]::GetTempPath()) ([Guid]::NewGuid().ToString())
New-Item -ItemType Directory -Path $Tmp | Out-Null
try {
  Get-File "$Base/SHA256SUMS" (Join-Path $Tmp 'SHA256SUMS')
  $line = Get-Content (Join-Path $Tmp 'SHA256SUMS') |
    Where-Object { $_ -match "^[0-9a-f]{64}  aliyun-assist_[0-9.]+_windows_$Arch[.]zip$" } | Select-Object -Last 1
  if (-not $line -or $line -notmatch '^([0-9a-f]{64})  (aliyun-assist_([0-9.]+)_windows_[a-z0-9]+[.]zip)$') {
    throw "$Base serves no Windows package for $Arch"
  }
  $Hash = $Matches[1]
  $Pkg = $Matches[2]
  $Version = $Matches[3]
  $Zip = Join-Path $Tmp $Pkg
  Write-Host "downloading $Pkg from $ServerHost"
  Get-File "$Base/$Pkg" $Zip
  $Got = (Get-FileHash -Algorithm SHA256 -Path $Zip).Hash.ToLowerInvariant()
  if ($Got -ne $Hash) { throw "$($Pkg): SHA-256 $Got does not match SHA256SUMS ($Hash)" }

  New-Item -ItemType Directory -Force -Path (Join-Path $Root 'config') | Out-Null
  Expand-Archive -Path $Zip -DestinationPath $Root -Force
  Set-Content -Path (Join-Path $Root 'version') -Value $Version -Encoding ASCII
} finally {
  Remove-Item -Recurse -Force $Tmp -ErrorAction SilentlyContinue
}

# The agent reads its settings from machine environment variables.
$settings = @{ ALIYUN_ASSIST_SERVER_HOST = $ServerHost; ALIYUN_ASSIST_PROXY = $Proxy; ALIYUN_ASSIST_CERT_PATH = $null }
if ($CaPem) {
  $CaPath = Join-Path $Root 'config\\server-ca.pem'
  Set-Content -Path $CaPath -Value $CaPem -Encoding ASCII
  $settings.ALIYUN_ASSIST_CERT_PATH = $CaPath
}
foreach ($k in $settings.Keys) {
  [Environment]::SetEnvironmentVariable($k, $settings[$k], 'Machine')
  [Environment]::SetEnvironmentVariable($k, $settings[$k], 'Process')
}

$Exe = Join-Path $Root "$Version\\aliyun_assist_service.exe"
if (Test-Path (Join-Path $Root 'hybrid\\instance-id')) {
  Write-Host 'already registered; to register again run aliyun_assist_service.exe --deregister first'
} else {
  Write-Host "registering with activation $ActivationId"
  & $Exe --register --RegionId $RegionId --ActivationCode $ActivationCode --ActivationId $ActivationId
  if ($LASTEXITCODE -ne 0) { throw 'registration failed' }
}
if (Get-Service -Name AliyunService -ErrorAction SilentlyContinue) {
  Restart-Service -Name AliyunService
} else {
  & $Exe --install
  & $Exe --start
}
Write-Host 'done'
`;
}
