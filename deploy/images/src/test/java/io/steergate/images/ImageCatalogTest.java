package io.steergate.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.images.ImageCatalog.ImageSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageCatalogTest {

    @Test
    void rolesBecomeSwitchesForEveryRoleAndExtrasStayPerImage(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("images.properties"), """
                images=api, gpu
                api.name=steergate/gateway
                api.roles=gateway
                gpu.name=steergate/worker-cuda
                gpu.roles=worker,trainer
                gpu.env.PYTORCH_FLAVOR=cu128
                """);
        List<ImageSpec> specs = ImageCatalog.read(file);
        assertEquals(List.of("api", "gpu"), specs.stream().map(ImageSpec::key).toList());
        assertEquals(Map.of("STEERGATE_ROLE_GATEWAY", "true", "STEERGATE_ROLE_WORKER", "false",
                "STEERGATE_ROLE_TRAINER", "false"), specs.get(0).roleEnvironment());
        assertEquals(Map.of("STEERGATE_ROLE_GATEWAY", "false", "STEERGATE_ROLE_WORKER", "true",
                "STEERGATE_ROLE_TRAINER", "true"), specs.get(1).roleEnvironment());
        assertEquals(Map.of(), specs.get(0).env());
        assertEquals(Map.of("PYTORCH_FLAVOR", "cu128"), specs.get(1).env());
    }

    @Test
    void anUnknownRoleOrAMissingNameIsRefusedByName(@TempDir Path dir) throws IOException {
        Path badRole = Files.writeString(dir.resolve("a.properties"), "images=x\nx.name=n\nx.roles=gatway\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ImageCatalog.read(badRole));
        assertTrue(e.getMessage().contains("x.roles names an unknown role 'gatway'"), e.getMessage());

        Path noName = Files.writeString(dir.resolve("b.properties"), "images=x\nx.roles=worker\n");
        e = assertThrows(IllegalArgumentException.class, () -> ImageCatalog.read(noName));
        assertTrue(e.getMessage().endsWith("missing x.name"), e.getMessage());
    }

    @Test
    void theShippedCatalogParses() throws IOException {
        List<ImageSpec> specs = ImageCatalog.read(Path.of("images.properties"));
        assertEquals(List.of("gateway", "worker-cpu", "worker-cuda", "trainer"),
                specs.stream().map(ImageSpec::key).toList());
    }
}
