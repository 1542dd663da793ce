// 模板中心: the built-in industry templates (GET /templates) as cards with what each contains,
// a preview drawer, install (dry run → confirm), a link to the diff view, and 导出 of the
// tenant's own configuration as a bundle file (GET /templates-export).
import { useCallback, useEffect, useState } from 'react';
import { useNavigate } from 'react-router';
import { Button, Card, Col, Empty, Row, Skeleton, Space, Tag, Typography } from 'antd';
import { CloudDownloadOutlined, DiffOutlined, EyeOutlined } from '@ant-design/icons';
import { api, enc } from '../api/client.ts';
import type { TemplateReport, TemplateSummary } from '../api/types.ts';
import { useAuth } from '../auth.tsx';
import { loc, useI18n } from '../i18n/index.tsx';
import { useObjects } from '../objects.tsx';
import { InlineError } from '../components/PageState.tsx';
import { ExportButton } from '../components/templates/ExportButton.tsx';
import { InstallModal, type InstallSource } from '../components/templates/InstallModal.tsx';
import { TemplatePreview } from '../components/templates/TemplatePreview.tsx';

const COUNTS = ['objects', 'pipelines', 'metrics', 'targetPlans'] as const;

export default function TemplatesPage() {
  const { t, lang } = useI18n();
  const { isAdmin } = useAuth();
  const { refresh } = useObjects();
  const navigate = useNavigate();
  const [items, setItems] = useState<TemplateSummary[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [install, setInstall] = useState<{ source: InstallSource; label: string } | null>(null);

  const load = useCallback(() => {
    setError(null);
    api
      .get<{ items: TemplateSummary[] }>('templates')
      .then((r) => setItems(r.items ?? []))
      .catch((e) => {
        setItems([]);
        setError(e);
      });
  }, []);
  useEffect(load, [load]);

  const labelOf = (s: TemplateSummary) => loc(s.metadata.label, lang) ?? s.name;
  // A new object or pipeline belongs in the menu at once.
  const installed = (_: TemplateReport) => void refresh();

  return (
    <div>
      <div className="page-header">
        <div>
          <h1>{t('templates.title')}</h1>
          <Typography.Text type="secondary">{t('templates.subtitle')}</Typography.Text>
        </div>
        {isAdmin && (
          <Space wrap>
            <Button icon={<DiffOutlined />} onClick={() => navigate('/admin/templates/diff')} data-testid="template-diff-link">
              {t('templates.diff.title')}
            </Button>
            <ExportButton />
          </Space>
        )}
      </div>
      {error != null && <InlineError error={error} />}
      {!isAdmin && items && items.length > 0 && (
        <Typography.Paragraph type="secondary">{t('templates.adminOnly')}</Typography.Paragraph>
      )}
      {items === null ? (
        <Row gutter={[16, 16]}>
          {[0, 1, 2].map((i) => (
            <Col key={i} xs={24} md={12} xl={8}>
              <Card>
                <Skeleton active />
              </Card>
            </Col>
          ))}
        </Row>
      ) : items.length === 0 && error == null ? (
        <Card>
          <Empty description={t('templates.empty')} />
        </Card>
      ) : (
        <Row gutter={[16, 16]}>
          {items.map((s) => (
            <Col key={s.name} xs={24} md={12} xl={8}>
              <Card
                data-testid={`template-card-${s.name}`}
                style={{ height: '100%', display: 'flex', flexDirection: 'column' }}
                styles={{ body: { flex: 1, display: 'flex', flexDirection: 'column' } }}
                actions={[
                  <Button key="preview" type="link" icon={<EyeOutlined />} onClick={() => setPreview(s.name)} data-testid={`template-preview-${s.name}`}>
                    {t('templates.preview')}
                  </Button>,
                  ...(isAdmin
                    ? [
                        <Button key="diff" type="link" icon={<DiffOutlined />} onClick={() => navigate(`/admin/templates/diff?name=${enc(s.name)}`)} data-testid={`template-compare-${s.name}`}>
                          {t('templates.compare')}
                        </Button>,
                        <Button
                          key="install"
                          type="link"
                          icon={<CloudDownloadOutlined />}
                          onClick={() => setInstall({ source: { name: s.name }, label: labelOf(s) })}
                          data-testid={`template-install-${s.name}`}
                        >
                          {t('templates.install')}
                        </Button>,
                      ]
                    : []),
                ]}
              >
                <Space size={[4, 4]} wrap style={{ marginBottom: 8 }}>
                  <Typography.Text strong style={{ fontSize: 16 }}>
                    {labelOf(s)}
                  </Typography.Text>
                </Space>
                <div style={{ marginBottom: 8 }}>
                  {s.metadata.industry && <Tag color="geekblue">{s.metadata.industry}</Tag>}
                  <Tag>{t('templates.version', { version: s.metadata.version })}</Tag>
                  <Typography.Text type="secondary" code>
                    {s.name}
                  </Typography.Text>
                </div>
                <Typography.Paragraph type="secondary" ellipsis={{ rows: 3, tooltip: loc(s.metadata.description, lang) }} style={{ flex: 1 }}>
                  {loc(s.metadata.description, lang)}
                </Typography.Paragraph>
                <Row gutter={8}>
                  {COUNTS.map((c) => (
                    <Col key={c} span={6} style={{ textAlign: 'center' }}>
                      <div style={{ fontSize: 20, fontWeight: 600 }} data-testid={`template-count-${s.name}-${c}`}>
                        {s.contains?.[c]?.length ?? 0}
                      </div>
                      <div style={{ fontSize: 12, color: 'rgba(0,0,0,0.45)' }}>{t(`templates.count.${c}`)}</div>
                    </Col>
                  ))}
                </Row>
              </Card>
            </Col>
          ))}
        </Row>
      )}

      <TemplatePreview
        name={preview}
        onClose={() => setPreview(null)}
        onInstall={
          isAdmin
            ? (name, b) => {
                setPreview(null);
                setInstall({ source: { name }, label: loc(b.metadata.label, lang) ?? name });
              }
            : undefined
        }
      />
      <InstallModal source={install?.source ?? null} label={install?.label ?? ''} onClose={() => setInstall(null)} onInstalled={installed} />
    </div>
  );
}
