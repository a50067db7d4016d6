// --metrics-workers: the workers' own texts merged into one exposition: each family once, every sample labelled with
// its service and slot (never summed), the workers' own service/slot labels kept as exported_*, tend's names avoided.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeWorkerMetrics } from '../../../src/health/worker-metrics.js';

const worker = (requests: number): string => [
  '# HELP app_requests_total Requests served.',
  '# TYPE app_requests_total counter',
  `app_requests_total{path="/",code="200"} ${requests}`,
  '# HELP app_latency_seconds Latency.',
  '# TYPE app_latency_seconds histogram',
  `app_latency_seconds_bucket{le="0.1"} ${requests}`,
  `app_latency_seconds_bucket{le="+Inf"} ${requests}`,
  'app_latency_seconds_sum 0.25',
  `app_latency_seconds_count ${requests}`,
  '',
].join('\n');

describe('mergeWorkerMetrics', () => {
  it('each family once, samples per slot in order, never summed', () => {
    const out = mergeWorkerMetrics([{ service: 'web', slot: 0, text: worker(3) }, { service: 'web', slot: 1, text: worker(5) }]);
    assert.deepEqual(out, [
      '# HELP app_requests_total Requests served.',
      '# TYPE app_requests_total counter',
      'app_requests_total{service="web",slot="0",path="/",code="200"} 3',
      'app_requests_total{service="web",slot="1",path="/",code="200"} 5',
      '# HELP app_latency_seconds Latency.',
      '# TYPE app_latency_seconds histogram',
      'app_latency_seconds_bucket{service="web",slot="0",le="0.1"} 3',
      'app_latency_seconds_bucket{service="web",slot="0",le="+Inf"} 3',
      'app_latency_seconds_sum{service="web",slot="0"} 0.25',
      'app_latency_seconds_count{service="web",slot="0"} 3',
      'app_latency_seconds_bucket{service="web",slot="1",le="0.1"} 5',
      'app_latency_seconds_bucket{service="web",slot="1",le="+Inf"} 5',
      'app_latency_seconds_sum{service="web",slot="1"} 0.25',
      'app_latency_seconds_count{service="web",slot="1"} 5',
    ]);
  });

  it('a worker that did not answer is left out; its own slot/service labels become exported_*; tend_ and process_ names get worker_', () => {
    const text = '# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.5\n# TYPE jobs gauge\njobs{slot="a",service="x"} 2 1700000000000\n# EOF\n';
    assert.deepEqual(mergeWorkerMetrics([{ service: 'w', slot: 0, text: null }, { service: 'w', slot: 2, text }]), [
      '# TYPE worker_process_cpu_seconds_total counter',
      'worker_process_cpu_seconds_total{service="w",slot="2"} 1.5',
      '# TYPE jobs gauge',
      'jobs{service="w",slot="2",exported_slot="a",exported_service="x"} 2 1700000000000',
    ]);
  });

  it('escaped quotes and commas inside label values survive; a line that does not parse is dropped', () => {
    const text = 'm{a="x,\\"y\\"",b="z"} 1\nnot a sample\nm{a="unterminated} 2\n';
    assert.deepEqual(mergeWorkerMetrics([{ service: 's', slot: 0, text }]), ['m{service="s",slot="0",a="x,\\"y\\"",b="z"} 1']);
  });
});
