// downloadExport fetches an export (CSV or XLSX) with the signed-in token and saves it through a
// temporary object URL, using the file name the server gives in Content-Disposition.
import { ApiError, tokenStore } from '../../api/client.ts';

export async function downloadExport(path: string, query: Record<string, string | undefined>, fallbackName: string) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) qs.append(k, v);
  const token = tokenStore.get();
  const res = await fetch(`/api/v1/${path}?${qs.toString()}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (!res.ok) {
    let problem = { status: res.status, title: res.statusText };
    try {
      problem = await res.json();
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, problem);
  }
  const blob = await res.blob();
  const cd = res.headers.get('Content-Disposition') ?? '';
  const name = /filename="([^"]+)"/.exec(cd)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
