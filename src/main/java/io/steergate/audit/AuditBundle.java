package io.steergate.audit;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * The export bundle of one tenant's audit chain, and its offline check (plain Java: {@code steer audit verify-export}
 * needs no database and no running SteerGate).
 *
 * <p>A bundle is JSON lines, UTF-8, each ending in {@code \n}: line 1 the {@link Header} (the chain's record count and
 * last hash when the export began; its chain format {@code steergate.audit/v2} since canonical form 2: records of
 * either form, each line saying its own), then one {@link AuditEntry} per record in chain order (positions 1..records), then
 * the signature line {@code {"signature":{"algorithm":"Ed25519","keyFingerprint":..,"sha256":..,"value":..}}}:
 * {@code value} is the base64 Ed25519 signature of the SHA-256 digest (32 raw bytes, also given hex as
 * {@code sha256}) of every byte before the signature line. {@code keyFingerprint} is the hex SHA-256 of the public
 * key's X.509 encoding. The offline check takes the signature line only as exactly that one object followed by the
 * final {@code \n}, with {@code sha256} the digest it computed and {@code keyFingerprint} the key it was given.
 */
public final class AuditBundle {

    public static final String FORMAT = "steergate.audit-export/v1";
    public static final String ALGORITHM = "Ed25519";
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            // readers differ on which of a key's two values counts, so a line with a key twice says two things
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();
    private static final HexFormat HEX = HexFormat.of();

    private AuditBundle() {}

    /** Line 1. tenant is null for the chain of records without a tenant. */
    public record Header(String format, String chain, String tenant, long records, String lastHash, String exportedAt) {}

    public record SignatureLine(SignatureValue signature) {}

    public record SignatureValue(String algorithm, String keyFingerprint, String sha256, String value) {}

    /** Writes a bundle: {@link #line} for the header and each record, then {@link #sign}. */
    public static final class Writer {

        private final OutputStream out;
        private final MessageDigest digest = AuditChain.sha256();

        public Writer(OutputStream out) {
            this.out = out;
        }

        public void line(Object value) throws IOException {
            byte[] bytes = (JSON.writeValueAsString(value) + "\n").getBytes(StandardCharsets.UTF_8);
            digest.update(bytes);
            out.write(bytes);
        }

        /** Appends the signature line over everything written so far. */
        public void sign(Signer signer) throws IOException {
            byte[] sha256 = digest.digest();
            SignatureValue value = new SignatureValue(ALGORITHM, signer.keyFingerprint(), HEX.formatHex(sha256),
                    Base64.getEncoder().encodeToString(signer.sign(sha256)));
            out.write((JSON.writeValueAsString(new SignatureLine(value)) + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        }
    }

    /** Signs a bundle's digest with the private key; the key itself stays with the implementation. */
    public interface Signer {
        byte[] sign(byte[] sha256);

        String keyFingerprint();
    }

    /**
     * The outcome of checking a bundle offline.
     *
     * @param signatureProblem null when the signature holds
     * @param chain            the chain's verdict (null when the header could not be read)
     * @param firstBrokenLine  the line of the first record that breaks the chain, or of the first unreadable line
     */
    public record Check(String signatureProblem, Header header, AuditChain.Check chain, Integer firstBrokenLine,
            String problem) {

        public boolean ok() {
            return signatureProblem == null && problem == null && chain != null && chain.ok();
        }

        /** The report, one finding a line, ending with the verdict. */
        public List<String> report() {
            List<String> lines = findings();
            lines.add(ok() ? "VERIFIED" : "NOT VERIFIED");
            return lines;
        }

        /** The report without its verdict line. */
        public List<String> findings() {
            List<String> lines = new ArrayList<>();
            if (header != null) {
                lines.add("bundle: tenant " + (header.tenant() == null ? "(none)" : header.tenant()) + ", "
                        + header.records() + " records, last hash " + header.lastHash() + ", exported "
                        + header.exportedAt());
            }
            lines.add(signatureProblem == null ? "signature: ok (" + ALGORITHM + ")" : "signature: FAILED: " + signatureProblem);
            if (problem != null) {
                lines.add("chain: FAILED: " + (firstBrokenLine == null ? "" : "line " + firstBrokenLine + ": ") + problem);
            } else if (chain != null) {
                lines.add(chain.ok() ? "chain: ok (" + chain.records() + " records)"
                        : "chain: FAILED: " + (firstBrokenLine == null ? "" : "line " + firstBrokenLine + ": ")
                                + chain.reason());
            }
            return lines;
        }
    }

    /**
     * Whether a verified bundle continues {@code previous}, the header of an earlier verified export of the same chain
     * (one an auditor kept): null when the record at the previous head's position here has the previous head's hash,
     * so the records the earlier export vouched for are the first ones here; else what differs. A chain rewritten
     * since (every record re-hashed from a changed one on) verifies on its own and shows only here.
     *
     * @param current the header of {@code bundle}, which {@link #verify} found ok
     */
    public static String continues(Header previous, Header current, InputStream bundle) throws IOException {
        if (!Objects.equals(previous.tenant(), current.tenant())) {
            return "the previous bundle is of tenant " + previous.tenant() + ", this one of " + current.tenant();
        }
        if (previous.records() > current.records()) {
            return "the previous bundle has " + previous.records() + " records, this one " + current.records()
                    + ": records were removed since";
        }
        if (exportedAt(previous).isAfter(exportedAt(current))) {
            return "the previous bundle was exported after this one (" + previous.exportedAt() + ")";
        }
        if (previous.records() == 0) {
            return null;
        }
        LineReader reader = new LineReader(bundle);
        byte[] line = null;
        for (long number = 0; number <= previous.records(); number++) { // the header, then records 1..n
            line = reader.next();
        }
        AuditEntry entry = JSON.readValue(line, AuditEntry.class);
        if (entry.hash().equals(previous.lastHash())) {
            return null;
        }
        return "the record at position " + previous.records() + " (record " + entry.id() + ") has another hash than the"
                + " previous bundle's last record: the chain was rewritten since";
    }

    private static Instant exportedAt(Header header) {
        try {
            return Instant.parse(header.exportedAt());
        } catch (RuntimeException e) {
            return Instant.MIN;
        }
    }

    /** Checks the signature of {@code in} with {@code publicKey}, and the chain it carries; never throws on bad content. */
    public static Check verify(InputStream in, PublicKey publicKey) throws IOException {
        MessageDigest digest = AuditChain.sha256();
        LineReader reader = new LineReader(in);
        byte[] pending = null;
        int pendingNumber = 0;
        Header header = null;
        AuditChain.Walker walker = null;
        Integer brokenLine = null;
        String problem = null;
        byte[] line;
        int number = 0;
        while ((line = reader.next()) != null) {
            number++;
            if (pending != null) {
                digest.update(pending);
                if (problem == null) {
                    if (pendingNumber == 1) {
                        try {
                            header = JSON.readValue(pending, Header.class);
                            if (header == null) {
                                problem = "the header is not readable: it is null";
                                brokenLine = 1;
                            } else if (!FORMAT.equals(header.format()) || !(AuditChain.FORMAT.equals(header.chain())
                                    || AuditChain.FORMAT_V2.equals(header.chain()))) {
                                problem = "not a " + FORMAT + " bundle of a " + AuditChain.FORMAT + " or "
                                        + AuditChain.FORMAT_V2 + " chain";
                                brokenLine = 1;
                            }
                            walker = header == null ? null : new AuditChain.Walker(header.tenant());
                        } catch (JsonProcessingException e) {
                            problem = "the header is not readable: " + e.getOriginalMessage();
                            brokenLine = 1;
                        }
                    } else {
                        try {
                            AuditEntry entry = JSON.readValue(pending, AuditEntry.class);
                            if (entry == null) {
                                problem = "not an audit record: it is null";
                                brokenLine = pendingNumber;
                            } else if (!walker.accept(entry) && brokenLine == null) {
                                brokenLine = pendingNumber;
                            }
                        } catch (JsonProcessingException e) {
                            problem = "not an audit record: " + e.getOriginalMessage();
                            brokenLine = pendingNumber;
                        }
                    }
                }
            }
            pending = line;
            pendingNumber = number;
        }
        if (pending == null || number < 2) {
            return new Check("no signature line", header, null, null,
                    number == 0 ? "the bundle is empty" : "the bundle has no records and no signature line");
        }
        String signatureProblem = checkSignature(pending, pendingNumber, digest.digest(), publicKey);
        AuditChain.Check chain = walker == null ? null : walker.finish(header.records(), null, header.lastHash());
        return new Check(signatureProblem, header, chain, brokenLine, problem);
    }

    /**
     * The problem with the signature line {@code line} (line {@code number} of the bundle), or null when it signs
     * {@code sha256} with {@code publicKey} and says so truly: the fields beside {@code value} are not covered by the
     * signature, and nothing after the signature object is, so both are checked here.
     */
    private static String checkSignature(byte[] line, int number, byte[] sha256, PublicKey publicKey) throws IOException {
        String at = "line " + number + ": ";
        SignatureValue value;
        try (JsonParser parser = JSON.createParser(line)) {
            SignatureLine parsed = JSON.readValue(parser, SignatureLine.class);
            value = parsed == null ? null : parsed.signature();
            long end = parser.currentLocation().getByteOffset();
            if (end == line.length) {
                return at + "the signature line does not end in a newline (the bundle is cut short)";
            }
            if (end != line.length - 1 || line[(int) end] != '\n') {
                return at + "bytes after the signature object, which the signature does not cover";
            }
        } catch (JsonProcessingException e) {
            return at + "not a signature line (the bundle is cut short or was changed): " + e.getOriginalMessage();
        }
        if (value == null || !ALGORITHM.equals(value.algorithm()) || value.value() == null) {
            return at + "not an " + ALGORITHM + " signature";
        }
        String fingerprint = fingerprint(publicKey);
        String computed = HEX.formatHex(sha256);
        try {
            Signature verifier = Signature.getInstance(ALGORITHM);
            verifier.initVerify(publicKey);
            verifier.update(sha256);
            if (verifier.verify(Base64.getDecoder().decode(value.value()))) {
                if (!computed.equals(value.sha256())) {
                    return at + "sha256 " + value.sha256() + " is not the digest of the bundle's content (" + computed
                            + "): the field was changed after signing";
                }
                if (!fingerprint.equals(value.keyFingerprint())) {
                    return at + "keyFingerprint " + value.keyFingerprint() + " is not the given key's " + fingerprint
                            + ": the field was changed after signing";
                }
                return null;
            }
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return at + "unreadable signature: " + e.getMessage();
        }
        if (!fingerprint.equals(value.keyFingerprint())) {
            return "signed by another key (fingerprint " + value.keyFingerprint() + ", the given key is " + fingerprint + ")";
        }
        return "does not match the content: the bundle was changed after it was signed";
    }

    /** The hex SHA-256 of the key's X.509 (SubjectPublicKeyInfo) encoding. */
    public static String fingerprint(PublicKey key) {
        return HEX.formatHex(AuditChain.sha256().digest(key.getEncoded()));
    }

    public static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    /** The DER bytes of a PEM block of the given type. */
    public static byte[] fromPem(String type, String pem) {
        String begin = "-----BEGIN " + type + "-----";
        String end = "-----END " + type + "-----";
        int from = pem.indexOf(begin);
        int to = pem.indexOf(end);
        if (from < 0 || to < from) {
            throw new IllegalArgumentException("not a PEM " + type + " (no " + begin + " ... " + end + " block)");
        }
        return Base64.getMimeDecoder().decode(pem.substring(from + begin.length(), to));
    }

    /** An Ed25519 public key from its PEM (X.509 SubjectPublicKeyInfo, as GET /v1/audit/public-key serves it). */
    public static PublicKey readPublicKey(String pem) {
        try {
            return KeyFactory.getInstance(ALGORITHM).generatePublic(new X509EncodedKeySpec(fromPem("PUBLIC KEY", pem)));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("not an " + ALGORITHM + " public key: " + e.getMessage());
        }
    }

    /** Lines as raw bytes, each with its terminating newline when it has one. */
    private static final class LineReader {
        private final InputStream in;
        private final byte[] buffer = new byte[64 * 1024];
        private int position;
        private int limit;

        LineReader(InputStream in) {
            this.in = in;
        }

        byte[] next() throws IOException {
            ByteArrayOutputStream line = null;
            while (true) {
                if (position == limit) {
                    limit = in.read(buffer);
                    position = 0;
                    if (limit <= 0) {
                        limit = 0;
                        return line == null ? null : line.toByteArray();
                    }
                }
                if (line == null) {
                    line = new ByteArrayOutputStream(256);
                }
                int start = position;
                while (position < limit && buffer[position] != '\n') {
                    position++;
                }
                if (position < limit) {
                    position++;
                    line.write(buffer, start, position - start);
                    return line.toByteArray();
                }
                line.write(buffer, start, position - start);
            }
        }
    }
}
