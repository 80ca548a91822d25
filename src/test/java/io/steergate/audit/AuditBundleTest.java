package io.steergate.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Arrays;
import java.util.List;
import io.steergate.cli.SteerCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Export bundles: written, signed, and checked offline; tampering is named by line. */
class AuditBundleTest {

    static final KeyPair KEYS = generate();
    static final KeyPair OTHER_KEYS = generate();

    static KeyPair generate() {
        try {
            return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static AuditBundle.Signer signer(KeyPair keys) {
        return new AuditBundle.Signer() {
            @Override
            public byte[] sign(byte[] sha256) {
                try {
                    Signature signature = Signature.getInstance("Ed25519");
                    signature.initSign(keys.getPrivate());
                    signature.update(sha256);
                    return signature.sign();
                } catch (GeneralSecurityException e) {
                    throw new IllegalStateException(e);
                }
            }

            @Override
            public String keyFingerprint() {
                return AuditBundle.fingerprint(keys.getPublic());
            }
        };
    }

    /** A signed bundle of n records of tenant acme. */
    static byte[] bundle(int n) throws IOException {
        return bundleOf(AuditChainTest.chain("acme", n));
    }

    /** A signed bundle of these records of tenant acme, chained as they are. */
    static byte[] bundleOf(List<AuditEntry> entries) throws IOException {
        int n = entries.size();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AuditBundle.Writer writer = new AuditBundle.Writer(out);
        writer.line(new AuditBundle.Header(AuditBundle.FORMAT, AuditChain.FORMAT, "acme", n,
                n == 0 ? AuditChain.GENESIS : entries.get(n - 1).hash(), "2026-01-02T00:00:00Z"));
        for (AuditEntry e : entries) {
            writer.line(e);
        }
        writer.sign(signer(KEYS));
        return out.toByteArray();
    }

    static AuditBundle.Check verify(byte[] bundle) throws IOException {
        return AuditBundle.verify(new ByteArrayInputStream(bundle), KEYS.getPublic());
    }

    static List<String> lines(byte[] bundle) {
        return new ArrayList<>(Arrays.asList(new String(bundle, StandardCharsets.UTF_8).split("\n")));
    }

    static byte[] join(List<String> lines) {
        return (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void anUntouchedBundleIsVerified() throws IOException {
        AuditBundle.Check check = verify(bundle(4));
        assertTrue(check.ok(), check.report().toString());
        assertEquals(4, check.chain().records());
        assertEquals("VERIFIED", check.report().get(check.report().size() - 1));
    }

    @Test
    void anEmptyChainIsVerifiedToo() throws IOException {
        assertTrue(verify(bundle(0)).ok());
    }

    @Test
    void aChangedRecordFailsTheSignatureAndTheChainNamesItsLine() throws IOException {
        List<String> lines = lines(bundle(4));
        // line 4 is the third record (line 1 is the header)
        lines.set(3, lines.get(3).replace("text 3", "text 3, kinder"));
        AuditBundle.Check check = verify(join(lines));
        assertFalse(check.ok());
        assertTrue(check.signatureProblem().contains("changed after it was signed"), check.signatureProblem());
        assertEquals(4, check.firstBrokenLine());
        assertEquals(103L, check.chain().firstBrokenId());
        assertTrue(check.report().toString().contains("line 4: record 103"), check.report().toString());
    }

    /** A signed bundle of a chain of 4 records, 2 in form 1 then 2 in form 2; {@code legacyLines}: the form 1 lines as
     * a bundle written before form 2 has them (no form, attemptsJson, counterfactualText keys). */
    static byte[] mixedBundle(boolean legacyLines) throws IOException {
        List<AuditEntry> entries = AuditChainTest.mixedChain("acme", 4, 2);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AuditBundle.Writer writer = new AuditBundle.Writer(out);
        writer.line(new AuditBundle.Header(AuditBundle.FORMAT, AuditChain.FORMAT_V2, "acme", 4, entries.get(3).hash(),
                "2026-01-02T00:00:00Z"));
        for (AuditEntry e : entries) {
            if (legacyLines && e.canonicalForm() == AuditChain.FORM_V1) {
                Map<String, Object> line = new ObjectMapper().convertValue(e, new TypeReference<LinkedHashMap<String, Object>>() {});
                line.keySet().removeAll(List.of("form", "attemptsJson", "counterfactualText"));
                writer.line(line);
            } else {
                writer.line(e);
            }
        }
        writer.sign(signer(KEYS));
        return out.toByteArray();
    }

    @Test
    void aBundleOfFormOneAndFormTwoRecordsIsVerified() throws IOException {
        for (boolean legacyLines : new boolean[] {false, true}) {
            byte[] bundle = mixedBundle(legacyLines);
            assertEquals(legacyLines, !lines(bundle).get(1).contains("\"form\""));
            AuditBundle.Check check = verify(bundle);
            assertTrue(check.ok(), check.report().toString());
            assertEquals(4, check.chain().records());
        }
    }

    @Test
    void aChangedCounterfactualInABundleIsNamedByItsLine() throws IOException {
        List<String> lines = lines(mixedBundle(true));
        // line 4 is the third record, the first in form 2
        lines.set(3, lines.get(3).replace("the unsteered text 103", "a kinder unsteered text"));
        AuditBundle.Check check = verify(join(lines));
        assertFalse(check.ok());
        assertEquals(4, check.firstBrokenLine());
        assertEquals(103L, check.chain().firstBrokenId());
    }

    @Test
    void aRemovedRecordIsNamed() throws IOException {
        List<String> lines = lines(bundle(4));
        lines.remove(2);
        AuditBundle.Check check = verify(join(lines));
        assertFalse(check.ok());
        assertEquals(3, check.firstBrokenLine());
        assertTrue(check.chain().reason().contains("position 2 missing"), check.chain().reason());
    }

    @Test
    void aCutBundleHasNoSignature() throws IOException {
        List<String> lines = lines(bundle(4));
        lines.remove(lines.size() - 1);
        AuditBundle.Check check = verify(join(lines));
        assertFalse(check.ok());
        assertTrue(check.signatureProblem().contains("not a signature line"), check.signatureProblem());
    }

    /** A header or record line that is JSON's null is not verified, and named, rather than thrown on. */
    @Test
    void aLineThatIsJustNullIsNamedNotThrownOn() throws IOException {
        for (int line : new int[] {0, 2}) {
            List<String> lines = lines(bundle(3));
            lines.set(line, "null");
            AuditBundle.Check check = verify(join(lines));
            assertFalse(check.ok());
            assertEquals(line + 1, check.firstBrokenLine(), check.report().toString());
        }
    }

    /** The bundle of {@link #bundle}(3) with its signature line (line 5) replaced by what {@code change} makes of it. */
    static byte[] withSignatureLine(java.util.function.UnaryOperator<String> change) throws IOException {
        List<String> lines = lines(bundle(3));
        lines.set(4, change.apply(lines.get(4)));
        return join(lines);
    }

    @Test
    void aRecordAfterTheSignatureObjectIsNotVerified() throws IOException {
        // JSON-stream readers (jq -c .) would show this record as part of the bundle; the signature does not cover it
        String injected = lines(bundle(3)).get(1).replace("\"id\":101", "\"id\":999").replace("text 1", "INJECTED");
        assertTrue(injected.contains("\"id\":999") && injected.contains("INJECTED"), injected);
        AuditBundle.Check check = verify(withSignatureLine(signature -> signature + " " + injected));
        assertFalse(check.ok(), check.report().toString());
        assertTrue(check.signatureProblem().startsWith("line 5: "), check.signatureProblem());
        assertTrue(check.signatureProblem().contains("after the signature object"), check.signatureProblem());
        assertTrue(check.report().contains("NOT VERIFIED"), check.report().toString());
    }

    @Test
    void anythingButTheFinalNewlineAfterTheSignatureObjectIsRefused() throws IOException {
        for (String tail : List.of(" ", "\r", "\t")) {
            AuditBundle.Check check = verify(withSignatureLine(signature -> signature + tail));
            assertFalse(check.ok(), "tail " + tail.codePointAt(0));
            assertTrue(check.signatureProblem().contains("after the signature object"), check.signatureProblem());
        }
        byte[] bundle = bundle(3);
        AuditBundle.Check unterminated = verify(Arrays.copyOf(bundle, bundle.length - 1));
        assertFalse(unterminated.ok());
        assertTrue(unterminated.signatureProblem().contains("does not end in a newline"), unterminated.signatureProblem());
    }

    @Test
    void aKeyTwiceInTheSignatureLineIsRefused() throws IOException {
        // readers differ on which of two values counts: a false digest first, the true one after
        AuditBundle.Check check = verify(withSignatureLine(signature -> signature.replace("\"sha256\":",
                "\"sha256\":\"" + "ab".repeat(32) + "\",\"sha256\":")));
        assertFalse(check.ok(), check.report().toString());
        assertTrue(check.signatureProblem().startsWith("line 5: "), check.signatureProblem());
        assertTrue(check.signatureProblem().contains("Duplicate field 'sha256'"), check.signatureProblem());
    }

    /** The signature line with one field of its signature object set to {@code value}; the signature itself kept. */
    static String withField(String signatureLine, String field, String value) {
        try {
            ObjectMapper json = new ObjectMapper();
            Map<String, Map<String, String>> line = json.readValue(signatureLine, new TypeReference<>() {});
            line.get("signature").put(field, value);
            return json.writeValueAsString(line);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aFalseSha256IsNotVerified() throws IOException {
        // an auditor who records the sha256 field as the bundle's anchor must be able to rely on it
        AuditBundle.Check check = verify(withSignatureLine(signature -> withField(signature, "sha256", "ab".repeat(32))));
        assertFalse(check.ok(), check.report().toString());
        assertTrue(check.signatureProblem().startsWith("line 5: sha256 " + "ab".repeat(32) + " is not the digest"),
                check.signatureProblem());
    }

    @Test
    void aFalseKeyFingerprintIsNotVerified() throws IOException {
        AuditBundle.Check check = verify(withSignatureLine(signature -> withField(signature, "keyFingerprint", "cd".repeat(32))));
        assertFalse(check.ok(), check.report().toString());
        assertTrue(check.signatureProblem().startsWith("line 5: keyFingerprint " + "cd".repeat(32) + " is not the given key's "
                + AuditBundle.fingerprint(KEYS.getPublic())), check.signatureProblem());
    }

    @Test
    void anotherKeyDoesNotVerify() throws IOException {
        AuditBundle.Check check = AuditBundle.verify(new ByteArrayInputStream(bundle(2)), OTHER_KEYS.getPublic());
        assertFalse(check.ok());
        assertTrue(check.signatureProblem().contains("signed by another key"), check.signatureProblem());
        assertNull(check.chain().firstBrokenId());
    }

    @Test
    void aGarbageLineIsNamed() throws IOException {
        List<String> lines = lines(bundle(3));
        lines.set(2, "{not json");
        AuditBundle.Check check = verify(join(lines));
        assertFalse(check.ok());
        assertEquals(3, check.firstBrokenLine());
        assertTrue(check.report().toString().contains("line 3: not an audit record"), check.report().toString());
    }

    @Test
    void aPublicKeySurvivesItsPem() {
        String pem = AuditBundle.pem("PUBLIC KEY", KEYS.getPublic().getEncoded());
        assertEquals(AuditBundle.fingerprint(KEYS.getPublic()), AuditBundle.fingerprint(AuditBundle.readPublicKey(pem)));
    }

    /** What `steer audit verify-export` printed and returned. */
    record Run(int code, String out, String err) {}

    static Run verifyExport(Path bundle, Path publicKey, String... more) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = SteerCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        List<String> args = new ArrayList<>(List.of("audit", "verify-export", "--bundle", bundle.toString(),
                "--public-key", publicKey.toString()));
        args.addAll(List.of(more));
        int code = cli.execute(args.toArray(String[]::new));
        return new Run(code, out.toString(), err.toString());
    }

    /**
     * An earlier export an auditor kept is the only check of a chain rewritten since (every record re-hashed from a
     * changed one on): --previous finds its records at the start of the new bundle, or names what differs.
     */
    @Test
    void aLaterExportIsCheckedAgainstAnEarlierOne(@TempDir Path dir) throws IOException {
        Path key = dir.resolve("audit.pub");
        Files.writeString(key, AuditBundle.pem("PUBLIC KEY", KEYS.getPublic().getEncoded()));
        Path earlier = Files.write(dir.resolve("earlier.jsonl"), bundle(3));
        Path later = Files.write(dir.resolve("later.jsonl"), bundle(4));
        Run continued = verifyExport(later, key, "--previous", earlier.toString());
        assertEquals(0, continued.code(), continued.out());
        assertTrue(continued.out().contains("previous: ok (its 3 records are the first here)"), continued.out());

        // record 2's output changed and every hash from it on recomputed: a bundle that verifies on its own
        List<AuditEntry> rewritten = new ArrayList<>(AuditChainTest.chain("acme", 4));
        String previousHash = rewritten.get(0).hash();
        for (int i = 1; i < 4; i++) {
            AuditEntry e = AuditChainTest.entry(101 + i, "acme", i + 1, i == 1 ? "a kinder text" : "text " + (i + 1) + " ü");
            e = e.withHash(AuditChain.hash(previousHash, e));
            previousHash = e.hash();
            rewritten.set(i, e);
        }
        Path forged = Files.write(dir.resolve("rewritten.jsonl"), bundleOf(rewritten));
        assertEquals(0, verifyExport(forged, key).code(), "alone, a rewritten chain verifies");
        Run caught = verifyExport(forged, key, "--previous", earlier.toString());
        assertEquals(1, caught.code(), caught.out());
        assertTrue(caught.out().contains("previous: FAILED: the record at position 3 (record 103) has another hash than the"
                + " previous bundle's last record: the chain was rewritten since"), caught.out());

        List<String> changed = lines(bundle(3));
        changed.set(2, changed.get(2).replace("text 2", "text 9"));
        Path tampered = Files.write(dir.resolve("tampered-earlier.jsonl"), join(changed));
        Run untrusted = verifyExport(later, key, "--previous", tampered.toString());
        assertEquals(1, untrusted.code(), untrusted.out());
        assertTrue(untrusted.out().contains("previous: FAILED: it does not verify itself"), untrusted.out());

        Run shorter = verifyExport(earlier, key, "--previous", later.toString());
        assertEquals(1, shorter.code(), shorter.out());
        assertTrue(shorter.out().contains("the previous bundle has 4 records, this one 3: records were removed since"),
                shorter.out());
    }

    @Test
    void theCommandLineVerifiesABundleAndNamesTheTamperedLine(@TempDir Path dir) throws IOException {
        Path key = Files.writeString(dir.resolve("audit.pub"), AuditBundle.pem("PUBLIC KEY", KEYS.getPublic().getEncoded()));
        Path good = Files.write(dir.resolve("good.jsonl"), bundle(3));
        Run ok = verifyExport(good, key);
        assertEquals(0, ok.code(), ok.out() + ok.err());
        assertTrue(ok.out().contains("VERIFIED"), ok.out());

        List<String> lines = lines(bundle(3));
        lines.set(2, lines.get(2).replace("\"COMPLETED\"", "\"REJECTED\""));
        Path bad = Files.write(dir.resolve("bad.jsonl"), join(lines));
        Run refused = verifyExport(bad, key);
        assertEquals(1, refused.code(), refused.out() + refused.err());
        assertTrue(refused.out().contains("signature: FAILED"), refused.out());
        assertTrue(refused.out().contains("chain: FAILED: line 3: record 102"), refused.out());
        assertTrue(refused.out().contains("NOT VERIFIED"), refused.out());
    }

    @Test
    void theCommandLineRefusesAKeyThatIsNotOne(@TempDir Path dir) throws IOException {
        Path good = Files.write(dir.resolve("good.jsonl"), bundle(1));
        Path notAKey = Files.writeString(dir.resolve("audit.pub"), "hello");
        Run run = verifyExport(good, notAKey);
        assertEquals(2, run.code());
        assertTrue(run.err().contains("--public-key"), run.err());
    }
}
