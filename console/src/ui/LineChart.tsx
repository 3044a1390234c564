// A small uPlot time-series chart; series values are sampled by the page.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  label: string;
  color: string;
}

export function LineChart({ title, series, data }: { title: string; series: Series[]; data: uPlot.AlignedData }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    const width = Math.max(280, (box.current?.clientWidth ?? 600) - 8);
    plot.current = new uPlot(
      { title, width, height: 180, series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))], axes: [{}, { size: 60 }] },
      data,
      box.current!,
    );
    return () => plot.current?.destroy();
  }, []);
  useEffect(() => plot.current?.setData(data), [data]);
  return <figure ref={box} class="chart" aria-label={`${title} chart`} />;
}
