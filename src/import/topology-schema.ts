// The project's own topology format (YAML or JSON), validated with zod. Documented in the README.

import { z } from "zod";

const hexId = z.string().regex(/^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$/, "expected vvvv:dddd (hex)");
const acsFlags = z.string().regex(/^(none|(SV|TB|RR|CR|UF|EC|DT)(\|(SV|TB|RR|CR|UF|EC|DT))*)$/, "expected ACS bits like SV|RR|CR|UF, or none");

export const FUNCTION_TYPES = [
  "endpoint", "legacy-endpoint", "root-port", "upstream-port", "downstream-port", "pcie-to-pci-bridge",
  "pci-to-pcie-bridge", "rciep", "rcec", "pci", "pci-bridge",
] as const;

export const topologyFunctionSchema = z
  .object({
    bdf: z.string().regex(/^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-1][0-9a-fA-F]\.[0-7]$/, "expected [dddd:]bb:dd.f"),
    id: hexId,
    class: z.string().regex(/^[0-9a-fA-F]{4}([0-9a-fA-F]{2})?$/, "expected a class code like 0604 or 060400").optional(),
    name: z.string().optional(),
    type: z.enum(FUNCTION_TYPES),
    multifunction: z.boolean().optional(),
    bus: z.object({ secondary: z.number().int().min(1).max(255), subordinate: z.number().int().min(1).max(255) }).strict().optional(),
    acs: z.union([z.boolean(), z.object({ cap: acsFlags, ctrl: acsFlags.optional() }).strict()]).optional(),
    ari: z.boolean().optional(),
    ariForwarding: z.boolean().optional(),
    sriov: z
      .object({
        totalVfs: z.number().int().min(0).max(65535),
        numVfs: z.number().int().min(0).max(65535),
        offset: z.number().int().min(0).max(65535),
        stride: z.number().int().min(0).max(65535),
        vfDeviceId: z.string().regex(/^[0-9a-fA-F]{4}$/),
      })
      .strict()
      .optional(),
    subsystem: hexId.optional(),
    driver: z.string().optional(),
    kernelGroup: z.number().int().min(0).optional(),
    dmaAliases: z.array(z.string().regex(/^[0-1][0-9a-fA-F]\.[0-7]$/, "expected dd.f on the same bus")).optional(),
  })
  .strict();

export const topologyFileSchema = z
  .object({
    name: z.string().optional(),
    description: z.string().optional(),
    iommu: z.enum(["intel", "amd", "none"]).optional(),
    kernel: z.string().optional(),
    /** "live": ACS control words are what a booted kernel wrote; "simulate" (default): the kernel enables them. */
    acsCtrl: z.enum(["live", "simulate"]).optional(),
    settings: z.object({ ivrsCoversRootComplex: z.boolean().optional(), pchAcsQuirkFailed: z.boolean().optional() }).strict().optional(),
    functions: z.array(topologyFunctionSchema).min(1, "a topology needs at least one function"),
  })
  .strict();

export type TopologyFile = z.infer<typeof topologyFileSchema>;
export type TopologyFunction = z.infer<typeof topologyFunctionSchema>;
