// 导出: the tenant's configuration as a bundle file (GET /templates-export), saved as
// <name>.template.json (the name is the bundle's metadata.name, the tenant's by default).
import { useState } from 'react';
import { App, Button } from 'antd';
import { DownloadOutlined } from '@ant-design/icons';
import { api } from '../../api/client.ts';
import type { TemplateBundle } from '../../api/types.ts';
import { useI18n } from '../../i18n/index.tsx';
import { problemText } from '../../lib/problem.ts';
import { downloadJSON, safeFileName } from '../../lib/templates.ts';

/** ExportButton downloads the tenant's configuration as <name>.template.json. */
export function ExportButton() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    try {
      const b = await api.get<TemplateBundle>('templates-export');
      const file = `${safeFileName(b.metadata?.name)}.template.json`;
      downloadJSON(b, file);
      message.success(t('templates.exported', { file }));
    } catch (e) {
      message.error(problemText(e, t));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Button icon={<DownloadOutlined />} loading={busy} onClick={() => void run()} data-testid="template-export">
      {t('templates.export')}
    </Button>
  );
}
