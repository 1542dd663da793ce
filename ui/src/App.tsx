import { lazy, Suspense, type ReactNode } from 'react';
import { BrowserRouter, Route, Routes } from 'react-router';
import { App as AntApp, ConfigProvider, theme as antdTheme } from 'antd';
import zhCN from 'antd/locale/zh_CN';
import enUS from 'antd/locale/en_US';
import { I18nProvider, useI18n } from './i18n/index.tsx';
import { AuthProvider, RequireAuth, useAuth } from './auth.tsx';
import { FullPageSpin } from './components/FullPageSpin.tsx';
import { AppLayout } from './components/AppLayout.tsx';
import { LoginPage } from './pages/Login.tsx';
import { NotFound } from './pages/NotFound.tsx';
import { BRAND } from './theme.ts';

// Pages load on demand; the record form and the object editor pull in RJSF.
const HomePage = lazy(() => import('./pages/Home.tsx'));
const RecordListPage = lazy(() => import('./pages/RecordList.tsx'));
const RecordFormPage = lazy(() => import('./pages/RecordForm.tsx'));
const AdminObjectsPage = lazy(() => import('./pages/AdminObjects.tsx'));
const ObjectEditorPage = lazy(() => import('./pages/ObjectEditor.tsx'));
const PipelineBoardPage = lazy(() => import('./pages/PipelineBoard.tsx'));
const PipelineFunnelPage = lazy(() => import('./pages/PipelineFunnel.tsx'));
const ProgressPage = lazy(() => import('./pages/Progress.tsx'));
const AdminPipelinesPage = lazy(() => import('./pages/AdminPipelines.tsx'));
const PipelineEditorPage = lazy(() => import('./pages/PipelineEditor.tsx'));
const TargetPlansPage = lazy(() => import('./pages/TargetPlans.tsx'));
const TargetPlanPage = lazy(() => import('./pages/TargetPlan.tsx'));
const TemplatesPage = lazy(() => import('./pages/Templates.tsx'));
const TemplateDiffPage = lazy(() => import('./pages/TemplateDiff.tsx'));
const LeaderboardPage = lazy(() => import('./pages/Leaderboard.tsx'));
const ReportsPage = lazy(() => import('./pages/Reports.tsx'));
const ReportReviewsPage = lazy(() => import('./pages/ReportReview.tsx').then((m) => ({ default: m.ReportReviewsPage })));
const ReportReviewPage = lazy(() => import('./pages/ReportReview.tsx').then((m) => ({ default: m.ReportReviewPage })));
const ScorecardsPage = lazy(() => import('./pages/Scorecards.tsx'));
const ScorecardEditorPage = lazy(() => import('./pages/ScorecardEditor.tsx'));
const MyCommissionPage = lazy(() => import('./pages/MyCommission.tsx'));
const StatementsPage = lazy(() => import('./pages/Statements.tsx'));
const CommissionDisputesPage = lazy(() => import('./pages/CommissionDisputes.tsx'));
const CommissionRunPage = lazy(() => import('./pages/CommissionRun.tsx'));
const CommissionSimulatePage = lazy(() => import('./pages/CommissionSimulate.tsx'));
const CommissionPlansPage = lazy(() => import('./pages/CommissionPlans.tsx'));
const CommissionPlanPage = lazy(() => import('./pages/CommissionPlan.tsx'));
const AlertRulesPage = lazy(() => import('./pages/AlertRules.tsx'));
const AlertEditorPage = lazy(() => import('./pages/AlertEditor.tsx'));
const InboxPage = lazy(() => import('./pages/Inbox.tsx'));
const PluginsPage = lazy(() => import('./pages/Plugins.tsx'));

const FONT =
  '-apple-system, BlinkMacSystemFont, "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';


function Themed({ children }: { children: ReactNode }) {
  const { lang } = useI18n();
  return (
    <ConfigProvider
      locale={lang === 'zh-CN' ? zhCN : enUS}
      button={{ autoInsertSpace: false }}
      theme={{
        algorithm: antdTheme.defaultAlgorithm,
        token: { colorPrimary: BRAND.primary, borderRadius: 6, fontFamily: FONT, colorBgLayout: '#f3f5f9' },
        components: {
          Layout: { siderBg: BRAND.sider, headerBg: '#ffffff', headerPadding: '0 16px', triggerBg: BRAND.siderDeep },
          Menu: { darkItemBg: BRAND.sider, darkSubMenuItemBg: BRAND.siderDeep, darkItemSelectedBg: BRAND.primary },
          Table: { headerBg: '#fafbfc' },
        },
      }}
    >
      <AntApp>{children}</AntApp>
    </ConfigProvider>
  );
}

function RequireAdmin({ children }: { children: ReactNode }) {
  const { isAdmin } = useAuth();
  return isAdmin ? <>{children}</> : <NotFound forbidden />;
}

const page = (el: ReactNode) => <Suspense fallback={<FullPageSpin />}>{el}</Suspense>;

export function App() {
  return (
    <I18nProvider>
      <Themed>
        <BrowserRouter>
          <AuthProvider>
            <Routes>
              <Route path="/login" element={<LoginPage />} />
              <Route
                element={
                  <RequireAuth>
                    <AppLayout />
                  </RequireAuth>
                }
              >
                <Route index element={page(<HomePage />)} />
                <Route path="records/:object" element={page(<RecordListPage />)} />
                <Route path="records/:object/new" element={page(<RecordFormPage />)} />
                <Route path="records/:object/:id" element={page(<RecordFormPage />)} />
                <Route path="admin/objects" element={<RequireAdmin>{page(<AdminObjectsPage />)}</RequireAdmin>} />
                <Route path="admin/objects/:key" element={<RequireAdmin>{page(<ObjectEditorPage />)}</RequireAdmin>} />
                <Route path="progress" element={page(<ProgressPage />)} />
                <Route path="targets" element={page(<TargetPlansPage />)} />
                <Route path="targets/:key" element={page(<TargetPlanPage />)} />
                <Route path="pipelines/:key/board" element={page(<PipelineBoardPage />)} />
                <Route path="pipelines/:key/funnel" element={page(<PipelineFunnelPage />)} />
                <Route path="admin/pipelines" element={<RequireAdmin>{page(<AdminPipelinesPage />)}</RequireAdmin>} />
                <Route path="admin/pipelines/:key" element={<RequireAdmin>{page(<PipelineEditorPage />)}</RequireAdmin>} />
                <Route path="admin/templates" element={page(<TemplatesPage />)} />
                <Route path="admin/templates/diff" element={<RequireAdmin>{page(<TemplateDiffPage />)}</RequireAdmin>} />
                <Route path="leaderboard" element={page(<LeaderboardPage />)} />
                <Route path="admin/scorecards" element={<RequireAdmin>{page(<ScorecardsPage />)}</RequireAdmin>} />
                <Route path="admin/scorecards/:key" element={<RequireAdmin>{page(<ScorecardEditorPage />)}</RequireAdmin>} />
                <Route path="commission/mine" element={page(<MyCommissionPage />)} />
                <Route path="commission/statements" element={page(<StatementsPage />)} />
                <Route path="commission/disputes" element={page(<CommissionDisputesPage />)} />
                <Route path="commission/run" element={page(<CommissionRunPage />)} />
                <Route path="commission/simulate" element={page(<CommissionSimulatePage />)} />
                <Route path="commission/plans" element={<RequireAdmin>{page(<CommissionPlansPage />)}</RequireAdmin>} />
                <Route path="commission/plans/:key" element={<RequireAdmin>{page(<CommissionPlanPage />)}</RequireAdmin>} />
                <Route path="reports" element={page(<ReportsPage />)} />
                <Route path="reports/reviews" element={page(<ReportReviewsPage />)} />
                <Route path="reports/reviews/:id" element={page(<ReportReviewPage />)} />
                <Route path="inbox" element={page(<InboxPage />)} />
                <Route path="admin/alerts" element={<RequireAdmin>{page(<AlertRulesPage />)}</RequireAdmin>} />
                <Route path="admin/alerts/:key" element={<RequireAdmin>{page(<AlertEditorPage />)}</RequireAdmin>} />
                <Route path="admin/plugins" element={<RequireAdmin>{page(<PluginsPage />)}</RequireAdmin>} />
                <Route path="*" element={<NotFound />} />
              </Route>
            </Routes>
          </AuthProvider>
        </BrowserRouter>
      </Themed>
    </I18nProvider>
  );
}
