"""A throw-away certificate authority and server certificate for ``--tls``.

The Azure SDKs and the az CLI refuse to send a bearer token over plain http, so the emulator
can serve https with a CA generated at start (valid for 127.0.0.1, ::1 and localhost). Clients
trust it through ``REQUESTS_CA_BUNDLE`` (or ``connection_verify=``). ``cryptography`` is imported
only here and only when needed; without it the ``openssl`` binary does the same job.
"""

from __future__ import annotations

import ipaddress
import shutil
import ssl
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CA_NAME = "azjobs emulator CA"
VALID_DAYS = 30


@dataclass(frozen=True)
class Certificates:
    directory: Path
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self.cert_file), str(self.key_file))
        return context

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _names(host: str) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) the server certificate must cover."""
    dns = ["localhost"]
    ips = ["127.0.0.1", "::1"]
    try:
        ipaddress.ip_address(host)
        if host not in ips:
            ips.append(host)
    except ValueError:
        if host not in dns:
            dns.append(host)
    return dns, ips


def generate(host: str = "127.0.0.1", directory: Path | None = None) -> Certificates:
    """Write ca.pem, server.pem and server.key to a new private directory."""
    target = directory or Path(tempfile.mkdtemp(prefix="azjobs-emulator-tls-"))
    target.mkdir(parents=True, exist_ok=True)
    certs = Certificates(target, target / "ca.pem", target / "server.pem", target / "server.key")
    try:
        import cryptography  # noqa: F401
    except ImportError:
        if shutil.which("openssl") is None:
            raise RuntimeError(
                "--tls needs the 'cryptography' package (pip install 'azjobs[tls]') or the "
                "openssl command"
            ) from None
        _generate_with_openssl(certs, host)
    else:
        _generate_with_cryptography(certs, host)
    return certs


def _generate_with_cryptography(certs: Certificates, host: str) -> None:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=VALID_DAYS)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())

    def unsigned(subject: x509.Name, owner: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
        """What both certificates share: the CA as issuer, a random serial and the validity."""
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(owner.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
        )

    def key_usage(*, ca: bool) -> x509.KeyUsage:
        """A CA signs certificates and lists; the server signs and agrees keys (ECDHE)."""
        return x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=not ca,
            key_cert_sign=ca,
            crl_sign=ca,
            encipher_only=False,
            decipher_only=False,
        )

    ca_cert = (
        unsigned(ca_name, ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage(ca=True), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    dns, ips = _names(host)
    alt_names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    alt_names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cert = (
        unsigned(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns[0])]), key)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    certs.ca_file.write_bytes(ca_cert.public_bytes(pem))
    certs.cert_file.write_bytes(cert.public_bytes(pem))
    certs.key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    certs.key_file.chmod(0o600)


def _openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def _generate_with_openssl(certs: Certificates, host: str) -> None:
    d = certs.directory
    dns, ips = _names(host)
    alt = ",".join([f"DNS:{n}" for n in dns] + [f"IP:{i}" for i in ips])
    ca_key, csr, ext = d / "ca.key", d / "server.csr", d / "server.ext"
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(ca_key))
    _openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        str(ca_key),
        "-sha256",
        "-days",
        str(VALID_DAYS),
        "-subj",
        f"/CN={CA_NAME}",
        "-out",
        str(certs.ca_file),
        "-addext",
        "basicConstraints=critical,CA:TRUE,pathlen:0",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
        "-addext",
        "subjectKeyIdentifier=hash",
    )
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(certs.key_file))
    _openssl("req", "-new", "-key", str(certs.key_file), "-subj", f"/CN={dns[0]}", "-out", str(csr))
    ext.write_text(
        f"subjectAltName={alt}\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
        encoding="ascii",
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(certs.ca_file),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-days",
        str(VALID_DAYS),
        "-sha256",
        "-extfile",
        str(ext),
        "-out",
        str(certs.cert_file),
    )
    for leftover in (ca_key, csr, ext, d / "ca.srl"):
        leftover.unlink(missing_ok=True)
    certs.key_file.chmod(0o600)
