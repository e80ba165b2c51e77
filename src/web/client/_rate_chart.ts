/**
 * The monitor's messages-per-second chart: an inline SVG of the seconds the page has seen.
 * The server sends its last minute each time; the page keeps what it has seen, so a
 * dashboard left open shows several minutes.
 *
 * @module
 */
import type { MonitorSnapshot } from "../monitor_snapshot.ts";

const SVG = "http://www.w3.org/2000/svg";
/** How many seconds the chart keeps. */
const KEEP_SECONDS = 300;
/** The chart's height, in its own pixels. */
const HEIGHT = 190;
/** Room for the axis labels: left, right, top, bottom. */
const LEFT = 40, RIGHT = 8, TOP = 8, BOTTOM = 22;
const STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];

/** What a drawing of the chart found. */
export interface ChartSummary {
  /** The highest rate shown. */
  peak: number;
  /** How much of the past it shows, as the title says it: `minute` or `5 minutes`. */
  span: string;
}

function svg(name: string, attributes: Record<string, string | number>, parent: Element): Element {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  parent.appendChild(node);
  return node;
}

/** The top of the scale: the first round number at or above the value. */
function niceMax(value: number): number {
  return STEPS.find((step) => value <= step) ?? Math.ceil(value / 100000) * 100000;
}

/** Messages per second, by second since the epoch. */
export class RateChart {
  readonly #element: SVGSVGElement;
  readonly #series = new Map<number, number>();

  /**
   * A chart drawn into an SVG element.
   *
   * @param element The page's `<svg>`.
   */
  constructor(element: SVGSVGElement) {
    this.#element = element;
  }

  /**
   * Takes the rates of a snapshot and draws the chart again.
   *
   * @param snapshot The server's numbers.
   * @returns The peak and the span drawn.
   */
  update(snapshot: MonitorSnapshot): ChartSummary {
    const last = Math.floor(snapshot.time / 1000);
    const rate = snapshot.messagesPerSecond;
    // Seconds before the server started are not history; the window is still a minute wide.
    const oldest = Math.max(
      last - KEEP_SECONDS + 1,
      Math.min(last - 59, Math.floor(snapshot.startedAt / 1000)),
    );
    rate.forEach((value, i) => this.#series.set(last - (rate.length - 1 - i), value));
    for (const second of this.#series.keys()) {
      if (second < oldest) this.#series.delete(second);
    }
    return this.#draw(last);
  }

  #draw(last: number): ChartSummary {
    const chart = this.#element;
    chart.textContent = "";
    const first = Math.min(...this.#series.keys(), last - 59);
    const span = last - first;
    const values: number[] = [];
    for (let s = first; s <= last; s++) values.push(this.#series.get(s) ?? 0);
    const peak = Math.max(...values, 0);
    const top = niceMax(Math.max(peak, 1));
    // Drawn in the element's own pixels, so the axis labels are never stretched.
    const width = Math.max(200, Math.round(chart.getBoundingClientRect().width) || 800);
    chart.setAttribute("viewBox", `0 0 ${width} ${HEIGHT}`);
    const x = (i: number) => LEFT + (width - LEFT - RIGHT) * (span ? i / span : 1);
    const y = (v: number) => TOP + (HEIGHT - TOP - BOTTOM) * (1 - v / top);
    for (const f of [0, 0.5, 1]) {
      svg(
        "line",
        { x1: LEFT, x2: width - RIGHT, y1: y(top * f), y2: y(top * f), class: "grid" },
        chart,
      );
      svg("text", { x: LEFT - 6, y: y(top * f) + 4, "text-anchor": "end", class: "axis" }, chart)
        .textContent = String(top * f);
    }
    const minutes = Math.round(span / 60);
    svg("text", { x: LEFT, y: HEIGHT - 5, class: "axis" }, chart).textContent = minutes >= 2
      ? `${minutes} min ago`
      : `${span} s ago`;
    svg("text", { x: width - RIGHT, y: HEIGHT - 5, "text-anchor": "end", class: "axis" }, chart)
      .textContent = "now";
    const points = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`);
    svg("path", {
      d: `M${x(0)},${y(0)} L${points.join(" L")} L${x(span)},${y(0)} Z`,
      class: "area",
    }, chart);
    svg("polyline", { points: points.join(" "), class: "line" }, chart);
    chart.setAttribute(
      "aria-label",
      `Messages per second over the last ${
        minutes >= 2 ? `${minutes} minutes` : `${span} seconds`
      }: now ${values.at(-1)}, peak ${peak}`,
    );
    return { peak, span: minutes >= 2 ? `${minutes} minutes` : "minute" };
  }
}
