/** The heat map's colour ramp and its words. */
import { describe, expect, it } from "vitest";
import { heatColour, heatLevel, percent, rampColour, usageSummary } from "../../src/train/heat";

/** Relative luminance of an `rgb(r, g, b)` colour (WCAG), to check the ramp only brightens. */
function luminance(colour: string): number {
  const [r, g, b] = colour.match(/\d+/g)!.map((channel) => {
    const c = Number(channel) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

describe("heatLevel", () => {
  it("puts an idle expert at 0, a fair share at the middle, and twice that or more at the top", () => {
    expect(heatLevel(0, 4)).toBe(0);
    expect(heatLevel(0.25, 4)).toBe(0.5);
    expect(heatLevel(1 / 8, 8)).toBe(0.5);
    expect(heatLevel(0.5, 4)).toBe(1);
    expect(heatLevel(0.9, 4)).toBe(1);
  });

  it("is 0 for nonsense rather than throwing", () => {
    expect(heatLevel(Number.NaN, 4)).toBe(0);
    expect(heatLevel(0.5, 0)).toBe(0);
    expect(heatLevel(-1, 4)).toBe(0);
  });
});

describe("heatColour", () => {
  it("runs viridis from dark purple to yellow", () => {
    expect(heatColour(0, 4)).toBe("rgb(68, 1, 84)");
    expect(heatColour(0.5, 4)).toBe("rgb(253, 231, 37)");
    expect(heatColour(0.25, 4)).toBe("rgb(33, 144, 141)");
  });

  it("gets brighter as an expert's share grows, so more use always reads as hotter", () => {
    const colours = Array.from({ length: 51 }, (_, i) => rampColour(i / 50));
    for (let i = 1; i < colours.length; i++) expect(luminance(colours[i])).toBeGreaterThan(luminance(colours[i - 1]));
  });

  it("depends on the share relative to the layer's size", () => {
    expect(heatColour(0.25, 2)).not.toBe(heatColour(0.25, 8));
    expect(heatColour(0.5, 2)).toBe(heatColour(0.125, 8));
  });
});

describe("words", () => {
  it("says each expert's share, numbered from 1", () => {
    expect(usageSummary([0.31, 0.004, 0.686])).toBe("expert 1: 31%, expert 2: 0.4%, expert 3: 69%");
    expect(percent(0)).toBe("0%");
    expect(percent(Number.NaN)).toBe("–");
  });
});
