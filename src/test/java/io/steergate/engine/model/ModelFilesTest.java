package io.steergate.engine.model;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.testing.TestModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sha256 check of the default model's files (download is never exercised: tests stay offline). */
class ModelFilesTest {

    @Test
    void theSharedCopyIsGenuine() {
        assertDoesNotThrow(() -> ModelFiles.verify(TestModel.dir()));
    }

    @Test
    void aCorruptedCopyFailsNamingTheFile(@TempDir Path dir) throws IOException {
        Files.copy(TestModel.dir().resolve(ModelFiles.TOKENIZER), dir.resolve(ModelFiles.TOKENIZER));
        byte[] weights = Files.readAllBytes(TestModel.dir().resolve(ModelFiles.CHECKPOINT));
        weights[weights.length / 2] ^= 1;
        Files.write(dir.resolve(ModelFiles.CHECKPOINT), weights);
        IOException e = assertThrows(IOException.class, () -> ModelFiles.verify(dir));
        assertTrue(e.getMessage().contains(ModelFiles.CHECKPOINT), e.getMessage());
    }

    @Test
    void aMissingFileIsNamed(@TempDir Path dir) throws IOException {
        Files.copy(TestModel.dir().resolve(ModelFiles.CHECKPOINT), dir.resolve(ModelFiles.CHECKPOINT));
        IOException e = assertThrows(IOException.class, () -> ModelFiles.verify(dir));
        assertTrue(e.getMessage().contains(ModelFiles.TOKENIZER), e.getMessage());
    }
}
