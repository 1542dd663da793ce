// One target plan: 目标树 (tree), 编辑 (editor, admins), 提案 (open proposals, admins) and 历史 (history) tabs; the tab lives
// in the URL (?tab=) with the tree's level, period and node. A new plan arrives from the list
// with its first definition in the router state and exists on the server once saved.
import { useCallback, useEffect, useState } from 'react';
import { Link, useLocation, useParams, useSearchParams } from 'react-router';
import { Alert, Card, Space, Spin, Tabs, Tag, Typography } from 'antd';
import { api, enc, isApiError } from '../api/client.ts';
import type { TargetPlan, TargetPlanDefinition } from '../api/types.ts';
import { useAuth } from '../auth.tsx';
import { loc, useI18n } from '../i18n/index.tsx';
import { LoadError } from '../components/PageState.tsx';
import { TreeTab } from '../components/targets/TreeTab.tsx';
import { EditorTab } from '../components/targets/EditorTab.tsx';
import { HistoryTab } from '../components/targets/HistoryTab.tsx';
import { ProposalsTab } from '../components/targets/Proposals.tsx';

export default function TargetPlanPage() {
  const { key = '' } = useParams();
  const { t, lang } = useI18n();
  const { isAdmin } = useAuth();
  const location = useLocation();
  const draft = (location.state as { draft?: TargetPlanDefinition } | null)?.draft;
  const [params, setParams] = useSearchParams();
  const tab = params.get('tab') || 'tree';
  const [plan, setPlan] = useState<TargetPlan | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [refresh, setRefresh] = useState(0);

  const load = useCallback(() => {
    api.get<TargetPlan>(`target-plans/${enc(key)}`).then(
      (p) => {
        setPlan(p);
        setError(null);
      },
      (e) => setError(e),
    );
  }, [key]);
  useEffect(load, [load, refresh]);

  const isNew = !plan && !!draft && isApiError(error) && error.status === 404;
  if (error && !isNew) return <LoadError error={error} onRetry={load} />;
  if (!plan && !isNew) return <Spin style={{ display: 'block', margin: '48px auto' }} />;

  const def = plan?.definition ?? draft ?? {};
  const published = (plan?.publishedVersion ?? 0) > 0;
  const setTab = (k: string) => setParams(k === 'tree' ? {} : { tab: k });
  const changed = () => setRefresh((n) => n + 1);

  const items = [
    {
      key: 'tree',
      label: t('targets.tab.tree'),
      children: published ? (
        <TreeTab plan={key} fiscalYear={def.fiscalYear ?? new Date().getFullYear()} definition={def} refresh={refresh} onChanged={changed} />
      ) : (
        <Alert type="info" showIcon title={t('targets.notPublishedHint')} />
      ),
    },
    ...(isAdmin ? [{ key: 'editor', label: t('targets.tab.editor'), children: <EditorTab plan={key} initial={isNew ? draft : undefined} onSaved={(p) => setPlan(p)} onPublished={changed} /> }] : []),
    ...(isAdmin && published ? [{ key: 'proposals', label: t('targets.tab.proposals'), children: <ProposalsTab plan={key} refresh={refresh} onChanged={changed} /> }] : []),
    { key: 'history', label: t('targets.tab.history'), children: <HistoryTab plan={key} refresh={refresh} /> },
  ];

  return (
    <Card
      title={
        <Space wrap>
          <Link to="/targets">{t('targets.title')}</Link>
          <span>/</span>
          <span data-testid="plan-title">{loc(def.label, lang) ?? key}</span>
          <Typography.Text type="secondary" style={{ fontWeight: 'normal', fontSize: 13 }}>
            {def.metric} · FY{def.fiscalYear}
          </Typography.Text>
          {published ? <Tag color="green">v{plan?.publishedVersion}</Tag> : <Tag color="orange">{t('targets.notPublished')}</Tag>}
          {plan?.status === 'draft' && published && <Tag color="orange">{t('targets.status.draft')}</Tag>}
        </Space>
      }
      styles={{ body: { paddingTop: 4 } }}
    >
      <Tabs activeKey={tab} onChange={setTab} items={items} destroyOnHidden />
    </Card>
  );
}
