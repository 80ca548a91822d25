package io.steergate.audit;

import io.quarkus.runtime.StartupEvent;
import io.steergate.role.ProcessRoles;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The Ed25519 key pair that signs audit exports: the private key in {@code steergate.audit.signing-key} (PEM PKCS#8,
 * mode 0600), the public key next to it with {@code .pub} appended (PEM X.509). Created on the first start of a
 * gateway when neither file exists; several gateways must share the same files (or be given the same pair).
 */
@ApplicationScoped
public class AuditSigningKey implements AuditBundle.Signer {

    private static final Logger LOG = Logger.getLogger(AuditSigningKey.class);

    @ConfigProperty(name = "steergate.audit.signing-key")
    Path privateKeyFile;

    @Inject
    ProcessRoles roles;

    private KeyPair keys;

    /** The gateway serves exports: its key pair exists from start-up on, so the launcher can print the public key. */
    void onStart(@Observes StartupEvent event) {
        if (roles.gateway()) {
            keys();
        }
    }

    public Path publicKeyFile() {
        return privateKeyFile.resolveSibling(privateKeyFile.getFileName() + ".pub");
    }

    public String publicKeyPem() {
        return AuditBundle.pem("PUBLIC KEY", keys().getPublic().getEncoded());
    }

    @Override
    public String keyFingerprint() {
        return AuditBundle.fingerprint(keys().getPublic());
    }

    @Override
    public byte[] sign(byte[] sha256) {
        try {
            Signature signer = Signature.getInstance(AuditBundle.ALGORITHM);
            signer.initSign(keys().getPrivate());
            signer.update(sha256);
            return signer.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("could not sign with " + privateKeyFile, e);
        }
    }

    private synchronized KeyPair keys() {
        if (keys == null) {
            try {
                keys = Files.exists(privateKeyFile) ? load() : create();
            } catch (IOException e) {
                throw new UncheckedIOException("audit signing key " + privateKeyFile + ": " + e.getMessage(), e);
            }
        }
        return keys;
    }

    private KeyPair load() throws IOException {
        Path publicFile = publicKeyFile();
        if (!Files.exists(publicFile)) {
            throw new IllegalStateException("audit signing key " + privateKeyFile + " has no public key " + publicFile
                    + ": restore it, or remove both files to create a new pair");
        }
        try {
            PrivateKey privateKey = KeyFactory.getInstance(AuditBundle.ALGORITHM).generatePrivate(new PKCS8EncodedKeySpec(
                    AuditBundle.fromPem("PRIVATE KEY", Files.readString(privateKeyFile, StandardCharsets.US_ASCII))));
            return new KeyPair(AuditBundle.readPublicKey(Files.readString(publicFile, StandardCharsets.US_ASCII)), privateKey);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalStateException("audit signing key " + privateKeyFile + " is not an Ed25519 private key: "
                    + e.getMessage());
        }
    }

    private KeyPair create() throws IOException {
        KeyPair pair;
        try {
            pair = KeyPairGenerator.getInstance(AuditBundle.ALGORITHM).generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK cannot generate Ed25519 keys", e);
        }
        Path dir = privateKeyFile.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        try {
            // public first: a private key on disk always has its public key beside it
            writeNew(publicKeyFile(), AuditBundle.pem("PUBLIC KEY", pair.getPublic().getEncoded()), "rw-r--r--");
            writeNew(privateKeyFile, AuditBundle.pem("PRIVATE KEY", pair.getPrivate().getEncoded()), "rw-------");
        } catch (FileAlreadyExistsException e) {
            // another gateway on the same files won the race: use its pair
            return load();
        }
        LOG.infof("created the audit signing key %s (public key %s, fingerprint %s)", privateKeyFile, publicKeyFile(),
                AuditBundle.fingerprint(pair.getPublic()));
        return pair;
    }

    private static void writeNew(Path file, String content, String mode) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp" + ProcessHandle.current().pid());
        Files.deleteIfExists(tmp);
        try {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(mode)));
        } catch (UnsupportedOperationException e) {
            Files.createFile(tmp);
        }
        Files.writeString(tmp, content, StandardCharsets.US_ASCII);
        try {
            // a hard link never replaces: the first writer's file stays, later ones get FileAlreadyExistsException
            Files.createLink(file, tmp);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
