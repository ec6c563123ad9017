"""The simulator's CA, serving certificate and admin client certificate, kept in the
state directory so a reboot keeps them (like K3s's server/tls)."""
import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ADMIN_USER = "system:admin"
ADMIN_GROUPS = ["system:masters"]


def _write(path, data, mode):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(cn, orgs=()):
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _issue(subject, key, ca_cert, ca_key, server, days=3650):
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, content_commitment=False,
                                      data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                      crl_sign=False, encipher_only=False, decipher_only=False), critical=True))
    if server:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        b = b.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.DNSName("kubernetes"), x509.DNSName("kubernetes.default"),
            x509.DNSName("kubernetes.default.svc"), x509.DNSName("kubernetes.default.svc.cluster.local"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("10.43.0.1"))]), critical=False)
    else:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return b.sign(ca_key, hashes.SHA256())


class Pki:
    """Paths of the PEM files in DIR/tls/."""

    def __init__(self, state_dir):
        self.dir = os.path.join(state_dir, "tls")
        self.ca_crt = os.path.join(self.dir, "server-ca.crt")
        self.ca_key = os.path.join(self.dir, "server-ca.key")
        self.server_crt = os.path.join(self.dir, "serving-kube-apiserver.crt")
        self.server_key = os.path.join(self.dir, "serving-kube-apiserver.key")
        self.admin_crt = os.path.join(self.dir, "client-admin.crt")
        self.admin_key = os.path.join(self.dir, "client-admin.key")

    def ensure(self):
        paths = [self.ca_crt, self.ca_key, self.server_crt, self.server_key, self.admin_crt, self.admin_key]
        if all(os.path.exists(p) for p in paths):
            return
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
        ca_key = _key()
        ca_name = _name("k3s-server-ca@%d" % int(now.timestamp()))
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
              .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, content_commitment=False,
                                           data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                           crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
        srv_key = _key()
        srv = _issue(_name("kube-apiserver"), srv_key, ca, ca_key, server=True)
        adm_key = _key()
        adm = _issue(_name(ADMIN_USER, ADMIN_GROUPS), adm_key, ca, ca_key, server=False)
        pem = serialization.Encoding.PEM
        _write(self.ca_key, _key_pem(ca_key), 0o600)
        _write(self.server_key, _key_pem(srv_key), 0o600)
        _write(self.admin_key, _key_pem(adm_key), 0o600)
        _write(self.server_crt, srv.public_bytes(pem), 0o644)
        _write(self.admin_crt, adm.public_bytes(pem), 0o644)
        _write(self.ca_crt, ca.public_bytes(pem), 0o644)

    def issue_client(self, user, groups=()):
        """A client certificate (PEM cert, PEM key) for USER in GROUPS, signed by the CA."""
        with open(self.ca_crt, "rb") as f:
            ca = x509.load_pem_x509_certificate(f.read())
        with open(self.ca_key, "rb") as f:
            ca_key = serialization.load_pem_private_key(f.read(), None)
        key = _key()
        cert = _issue(_name(user, groups), key, ca, ca_key, server=False, days=365)
        return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()


def write_file(path, data, mode=0o600):
    _write(path, data if isinstance(data, bytes) else data.encode(), mode)
