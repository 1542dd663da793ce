import { Alert, Button, Result } from 'antd';
import { isApiError } from '../api/client.ts';
import { useI18n } from '../i18n/index.tsx';
import { problemText } from '../lib/problem.ts';
import { NotFound } from '../pages/NotFound.tsx';

/** LoadError shows why a page could not load: 404/403 as a result page, anything else with a retry. */
export function LoadError({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useI18n();
  if (isApiError(error) && error.status === 404) return <NotFound />;
  if (isApiError(error) && error.status === 403) return <NotFound forbidden />;
  return (
    <Result
      status="warning"
      title={problemText(error, t)}
      extra={
        onRetry && (
          <Button type="primary" onClick={onRetry}>
            {t('common.retry')}
          </Button>
        )
      }
    />
  );
}

export function InlineError({ error }: { error: unknown }) {
  const { t } = useI18n();
  return <Alert type="error" showIcon title={problemText(error, t)} style={{ marginBottom: 16 }} />;
}
